import type { z } from 'zod';
import {
  FarmError,
  FarmJobGoneError,
  FarmRejectedError,
  FarmResponseError,
  FarmUnavailableError,
  carriesSubmissionKey,
  farmJobFields,
  summarizeIssues,
} from './farm.ts';
import type {
  CancelOptions,
  FarmCallOptions,
  FarmJobRef,
  FarmJobStatus,
  FarmLogger,
  RenderFarm,
} from './farm.ts';
import {
  RetryableAnswer,
  defaultRetryPolicy,
  isNotSent,
  networkReason,
  parseRetryAfter,
  retrying,
  type FarmJobState,
  type HttpAnswer,
  type RetryPolicy,
  type RetryVerdict,
} from '@kitsu-actions/shared';
import {
  FlamencoErrorBody,
  FlamencoJobInfo,
  FlamencoJobList,
  FlamencoSubmittedJob,
  FlamencoTaskList,
  type FlamencoJobStatusValue,
} from './flamenco-wire.ts';

export interface FlamencoFarmOptions {
  /** Manager base URL, e.g. `http://flamenco:8080`. */
  url: string;
  /** Per attempt, including reading the body. Default 15 s. */
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  logger?: FarmLogger;
}

interface FlamencoRequest {
  method: 'GET' | 'POST';
  path: string;
  body?: unknown;
  /** Whether repeating it is harmless; if not, it is repeated only when it provably never left (or on 503). */
  idempotent: boolean;
  /** For messages: "the job submission", "the status of job <id>". */
  what: string;
}

const stateOf: Record<FlamencoJobStatusValue, FarmJobState> = {
  'under-construction': 'queued',
  queued: 'queued',
  requeueing: 'queued',
  paused: 'queued',
  active: 'active',
  'pause-requested': 'active',
  // Still running until the Manager has stopped its tasks; only `canceled` is final.
  'cancel-requested': 'active',
  completed: 'completed',
  failed: 'failed',
  canceled: 'cancelled',
};

/** Statuses after which a cancel has nothing left to do. */
const settled = new Set<FlamencoJobStatusValue>(['completed', 'failed', 'canceled', 'cancel-requested']);

/** Flamenco 3 Manager over its REST API. */
export class FlamencoFarm implements RenderFarm<FlamencoSubmittedJob> {
  readonly kind = 'flamenco' as const;
  readonly url: string;
  readonly #timeoutMs: number;
  readonly #retry: RetryPolicy;
  readonly #logger: FarmLogger | undefined;

  constructor(options: FlamencoFarmOptions) {
    let parsed: URL;
    try {
      parsed = new URL(options.url);
    } catch (error) {
      throw new TypeError(`Flamenco Manager URL "${options.url}" is not a valid URL`, { cause: error });
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new TypeError(`Flamenco Manager URL "${options.url}" must be http:// or https://`);
    }
    this.url = `${parsed.origin}${parsed.pathname.replace(/\/+$/, '')}`;
    this.#timeoutMs = options.timeoutMs ?? 15_000;
    this.#retry = { ...defaultRetryPolicy, ...options.retry };
    this.#logger = options.logger;
  }

  /** The Manager's web page of a job. */
  jobUrl(jobId: string): string {
    return `${this.url}/app/jobs/${encodeURIComponent(jobId)}`;
  }

  async check(job: FlamencoSubmittedJob, options: FarmCallOptions = {}): Promise<void> {
    await this.#check(this.#prepare(job, null), options.signal);
  }

  async submit(
    job: FlamencoSubmittedJob,
    submissionKey: string,
    options: FarmCallOptions = {},
  ): Promise<FarmJobRef> {
    const { signal } = options;
    const body = this.#prepare(job, submissionKey);
    await this.#check(body, signal);
    const req: FlamencoRequest = {
      method: 'POST',
      path: '/api/v3/jobs',
      body,
      idempotent: false,
      what: 'the job submission',
    };
    // Set after a failure that may have reached the Manager: look before sending the job again.
    let lookFirst = false;
    return retrying(
      async () => {
        if (lookFirst) {
          const found = await this.findBySubmissionKey(submissionKey, { signal });
          if (found !== undefined) {
            this.#logger?.warn(
              { submissionKey, farmJobId: found.farmJobId },
              'flamenco job was stored after all',
            );
            return found;
          }
        }
        const answer = await this.#once(req, signal);
        if (answer.status >= 500) throw new RetryableAnswer(answer);
        if (answer.status >= 300) throw this.#rejected('the job', answer);
        const info = this.#parse(req, answer, FlamencoJobInfo);
        this.#logger?.debug({ farmJobId: info.id, submissionKey }, 'flamenco job submitted');
        return this.#refOf(info.id);
      },
      {
        ...this.#retry,
        signal,
        shouldRetry: (error) => {
          // Refused, unreadable, or the lookup failed after its own retries: repeating cannot help.
          if (error instanceof FarmError) return 'give-up';
          // No answer, or a 5xx: the Manager may or may not have stored the job.
          lookFirst = !isNotSent(error);
          return this.#retryAfter(error);
        },
        onRetry: ({ error, attempt, waitMs }) => {
          this.#logger?.warn(
            { submissionKey, attempt, waitMs, status: statusOf(error) },
            'flamenco submission failed, retrying',
          );
        },
        giveUp: (error, attempts) =>
          error instanceof FarmError ? error : this.#unavailable(req, error, attempts),
      },
    );
  }

  async findBySubmissionKey(
    submissionKey: string,
    options: FarmCallOptions = {},
  ): Promise<FarmJobRef | undefined> {
    // No server-side filter exists since Flamenco 3.6 (POST /api/v3/jobs/query is gone): list and match.
    const req: FlamencoRequest = {
      method: 'GET',
      path: '/api/v3/jobs',
      idempotent: true,
      what: 'the job list',
    };
    const answer = await this.#call(req, options.signal);
    if (answer.status >= 300) throw this.#rejected('the job list', answer);
    const { jobs } = this.#parse(req, answer, FlamencoJobList);
    const matches = jobs
      .filter((job) => carriesSubmissionKey(job.metadata ?? {}, submissionKey))
      .sort((a, b) => (a.created ?? '').localeCompare(b.created ?? ''));
    const [first] = matches;
    if (first === undefined) return undefined;
    if (matches.length > 1) {
      this.#logger?.warn(
        { submissionKey, farmJobIds: matches.map((job) => job.id) },
        'several flamenco jobs carry one submission key; using the oldest',
      );
    }
    return this.#refOf(first.id);
  }

  async status(ref: FarmJobRef, options: FarmCallOptions = {}): Promise<FarmJobStatus> {
    const info = await this.#job(ref, options.signal);
    const url = this.jobUrl(info.id);
    const state = stateOf[info.status];
    let done = info.steps_completed;
    let total = info.steps_total;
    if (total === undefined && state !== 'completed') {
      // Before 3.8 the Job has no step counts: count the tasks.
      const tasks = await this.#tasks(info.id, options.signal);
      total = tasks.length;
      done = tasks.filter((task) => task.status === 'completed').length;
    }
    const percent =
      state === 'completed'
        ? 100
        : total === undefined || total === 0
          ? 0
          : Math.min(99, Math.floor((100 * (done ?? 0)) / total));
    return { state, percent, message: describe(info, done, total), url };
  }

  async cancel(ref: FarmJobRef, options: CancelOptions = {}): Promise<void> {
    const { signal } = options;
    let info: FlamencoJobInfo;
    try {
      info = await this.#job(ref, signal);
    } catch (error) {
      if (error instanceof FarmJobGoneError) return;
      throw error;
    }
    // The Manager would flip even a completed job to canceled: only ask when there is something to stop.
    if (settled.has(info.status)) return;
    const req: FlamencoRequest = {
      method: 'POST',
      path: `/api/v3/jobs/${encodeURIComponent(info.id)}/setstatus`,
      body: { status: 'cancel-requested', reason: options.reason ?? 'cancelled from Kitsu' },
      idempotent: true,
      what: `the cancel of job ${info.id}`,
    };
    const answer = await this.#call(req, signal);
    if (answer.status < 300) return;
    // Refused: fine if the job ended on its own in the meantime.
    const now = await this.#job(ref, signal);
    if (settled.has(now.status)) return;
    throw this.#rejected(`the cancel of job ${info.id}`, answer);
  }

  #prepare(job: FlamencoSubmittedJob, submissionKey: string | null): FlamencoSubmittedJob {
    const parsed = FlamencoSubmittedJob.safeParse(job);
    if (!parsed.success) {
      throw new FarmRejectedError({
        farm: 'flamenco',
        farmUrl: this.url,
        what: 'the job',
        reason: `${summarizeIssues(parsed.error)} (checked before sending)`,
      });
    }
    if (submissionKey === null) return parsed.data;
    return {
      ...parsed.data,
      metadata: { ...parsed.data.metadata, [farmJobFields.submissionKey]: submissionKey },
    };
  }

  async #check(body: FlamencoSubmittedJob, signal: AbortSignal | undefined): Promise<void> {
    const req: FlamencoRequest = {
      method: 'POST',
      path: '/api/v3/jobs/check',
      body,
      // A dry run: repeating it is harmless.
      idempotent: true,
      what: 'the job check',
    };
    const answer = await this.#call(req, signal);
    if (answer.status >= 300) throw this.#rejected('the job', answer);
  }

  async #job(ref: FarmJobRef, signal: AbortSignal | undefined): Promise<FlamencoJobInfo> {
    if (ref.farm !== 'flamenco') throw new TypeError(`not a Flamenco job: ${ref.farm} ${ref.farmJobId}`);
    const req: FlamencoRequest = {
      method: 'GET',
      path: `/api/v3/jobs/${encodeURIComponent(ref.farmJobId)}`,
      idempotent: true,
      what: `the status of job ${ref.farmJobId}`,
    };
    const answer = await this.#call(req, signal);
    if (answer.status === 404) {
      throw new FarmJobGoneError({
        farm: 'flamenco',
        farmUrl: this.url,
        farmJobId: ref.farmJobId,
        status: 404,
      });
    }
    if (answer.status >= 300) throw this.#rejected(`the status query of job ${ref.farmJobId}`, answer);
    return this.#parse(req, answer, FlamencoJobInfo);
  }

  async #tasks(jobId: string, signal: AbortSignal | undefined): Promise<FlamencoTaskList['tasks']> {
    const req: FlamencoRequest = {
      method: 'GET',
      path: `/api/v3/jobs/${encodeURIComponent(jobId)}/tasks`,
      idempotent: true,
      what: `the tasks of job ${jobId}`,
    };
    const answer = await this.#call(req, signal);
    if (answer.status >= 300) throw this.#rejected(`the task query of job ${jobId}`, answer);
    return this.#parse(req, answer, FlamencoTaskList).tasks;
  }

  #refOf(jobId: string): FarmJobRef {
    return { farm: 'flamenco', farmJobId: jobId, url: this.jobUrl(jobId) };
  }

  /** Sends with retries; returns any answer below 500, throws FarmUnavailableError otherwise. */
  async #call(req: FlamencoRequest, signal: AbortSignal | undefined): Promise<HttpAnswer> {
    return retrying(
      async () => {
        const answer = await this.#once(req, signal);
        if (answer.status >= 500) throw new RetryableAnswer(answer);
        return answer;
      },
      {
        ...this.#retry,
        signal,
        shouldRetry: (error) => {
          if (error instanceof RetryableAnswer) {
            return req.idempotent || error.answer.status === 503 ? this.#retryAfter(error) : 'give-up';
          }
          return req.idempotent || isNotSent(error) ? 'retry' : 'give-up';
        },
        onRetry: ({ error, attempt, waitMs }) => {
          if (error instanceof RetryableAnswer) {
            this.#logger?.warn(
              { path: req.path, status: error.answer.status, attempt, waitMs },
              'flamenco answered a server error, retrying',
            );
          } else {
            this.#logger?.warn(
              { path: req.path, attempt, waitMs, reason: networkReason(error, this.#timeoutMs) },
              'flamenco unreachable, retrying',
            );
          }
        },
        giveUp: (error, attempts) => this.#unavailable(req, error, attempts),
      },
    );
  }

  /** A 503 means the Manager's database is busy: wait as long as its Retry-After asks. */
  #retryAfter(error: unknown): RetryVerdict {
    if (!(error instanceof RetryableAnswer) || error.answer.status !== 503) return 'retry';
    const retryAfterMs = parseRetryAfter(error.answer.headers.get('retry-after'));
    return retryAfterMs === null ? 'retry' : { retryAfterMs };
  }

  async #once(req: FlamencoRequest, signal: AbortSignal | undefined): Promise<HttpAnswer> {
    signal?.throwIfAborted();
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (req.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${this.url}${req.path}`, {
      method: req.method,
      headers,
      ...(req.body === undefined ? {} : { body: JSON.stringify(req.body) }),
      signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]),
    });
    const text = await res.text();
    this.#logger?.debug({ method: req.method, path: req.path, status: res.status }, 'flamenco request');
    return { status: res.status, headers: res.headers, text };
  }

  #parse<S extends z.ZodType>(req: FlamencoRequest, answer: HttpAnswer, schema: S): z.infer<S> {
    let body: unknown;
    try {
      body = JSON.parse(answer.text) as unknown;
    } catch {
      throw new FarmResponseError({
        farm: 'flamenco',
        farmUrl: this.url,
        what: req.what,
        problem: `the body is not JSON (HTTP ${String(answer.status)})`,
      });
    }
    const parsed = schema.safeParse(body);
    if (!parsed.success) {
      throw new FarmResponseError({
        farm: 'flamenco',
        farmUrl: this.url,
        what: req.what,
        problem: summarizeIssues(parsed.error),
      });
    }
    return parsed.data;
  }

  #rejected(what: string, answer: HttpAnswer): FarmRejectedError {
    return new FarmRejectedError({
      farm: 'flamenco',
      farmUrl: this.url,
      what,
      reason: reasonOf(answer),
      status: answer.status,
    });
  }

  /** After the retries: `failure` is the last answer (a 5xx) or network error. */
  #unavailable(req: FlamencoRequest, failure: unknown, attempts: number): FarmUnavailableError {
    const answer = failure instanceof RetryableAnswer ? failure.answer : null;
    return new FarmUnavailableError({
      farm: 'flamenco',
      farmUrl: this.url,
      what: req.what,
      reason:
        answer === null
          ? networkReason(failure, this.#timeoutMs)
          : `HTTP ${String(answer.status)}: ${reasonOf(answer)}` +
            (answer.headers.get('retry-after') === null
              ? ''
              : ` (Retry-After ${answer.headers.get('retry-after') ?? ''})`),
      status: answer?.status ?? null,
      attempts,
      ...(answer === null ? { cause: failure } : {}),
    });
  }
}

/** The HTTP status of a failed attempt, null when there was no answer. */
function statusOf(failure: unknown): number | null {
  return failure instanceof RetryableAnswer ? failure.answer.status : null;
}

/** What the Manager said: its `message`, else a short excerpt of the body, else the status line. */
function reasonOf(answer: HttpAnswer): string {
  try {
    const parsed = FlamencoErrorBody.safeParse(JSON.parse(answer.text));
    if (parsed.success) return parsed.data.message;
  } catch {
    // Not JSON: fall through to an excerpt.
  }
  const excerpt = answer.text
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 200);
  return excerpt === '' ? `HTTP ${String(answer.status)}` : excerpt;
}

function describe(info: FlamencoJobInfo, done: number | undefined, total: number | undefined): string {
  const activity = info.activity?.trim() ?? '';
  const steps = total === undefined || total === 0 ? '' : ` (${String(done ?? 0)}/${String(total)} steps)`;
  switch (info.status) {
    case 'completed':
      return `Flamenco job "${info.name}" completed${steps}`;
    case 'failed':
      return `Flamenco job "${info.name}" failed: ${activity === '' ? 'no reason given' : activity}`;
    case 'canceled':
      return `Flamenco job "${info.name}" was cancelled${activity === '' ? '' : `: ${activity}`}`;
    case 'active':
      return `Rendering on Flamenco${steps}`;
    case 'queued':
    case 'under-construction':
      return 'Queued on Flamenco';
    case 'requeueing':
      return 'Being requeued on Flamenco';
    case 'paused':
      return `Paused on Flamenco${steps}`;
    case 'pause-requested':
      return `Pausing on Flamenco${steps}`;
    case 'cancel-requested':
      return 'Being cancelled on Flamenco';
  }
}
