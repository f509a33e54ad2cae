import { hostname } from 'node:os';
import { z } from 'zod';
import { AfanasyWireError, exchange } from './afanasy-wire.ts';
import {
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
  defaultRetryPolicy,
  finalFarmStates,
  retrying,
  type FarmCancelMode,
  type FarmJobState,
  type RetryPolicy,
} from '@kitsu-actions/shared';

const int = () => z.number().int();

/**
 * One block of numeric frames. afserver does not validate types (`"frame_first": "1"` becomes frame 0, some
 * invalid jobs crash it), so everything is checked here before sending.
 */
export const AfanasyBlock = z
  .strictObject({
    name: z.string().trim().min(1),
    service: z.string().trim().min(1),
    parser: z.string().optional(),
    /** Frame tokens: `@#@` (frame), `@####@` (padded). */
    command: z
      .string()
      .trim()
      .min(1)
      .regex(/@#+@/, 'command must contain a frame token such as @#@ or @####@'),
    frame_first: int(),
    frame_last: int(),
    frames_per_task: int().min(1),
    frames_inc: int().min(1).optional(),
    capacity: int().min(1).optional(),
    max_running_tasks: int().min(-1).optional(),
    working_directory: z.string().optional(),
    /** Output files, with the same frame tokens. */
    files: z.string().optional(),
  })
  .refine((block) => block.frame_first <= block.frame_last, {
    message: 'frame_first must not be after frame_last',
    path: ['frame_first'],
  });
export type AfanasyBlock = z.infer<typeof AfanasyBlock>;

export const AfanasyJob = z.strictObject({
  name: z.string().trim().min(1),
  /** Defaults to the adapter's `userName`. */
  user_name: z.string().trim().min(1).optional(),
  host_name: z.string().trim().min(1).optional(),
  priority: int().min(0).max(250).optional(),
  branch: z.string().optional(),
  max_running_tasks: int().min(-1).optional(),
  /** Sent as a JSON string in `custom_data`, with our submission key added. */
  custom_data: z.record(z.string(), z.string()).optional(),
  blocks: z.array(AfanasyBlock).min(1),
});
export type AfanasyJob = z.infer<typeof AfanasyJob>;

export const AfanasySubmitAnswer = z.object({ id: int(), serial: int() });
export type AfanasySubmitAnswer = z.infer<typeof AfanasySubmitAnswer>;

/** A job in a `get` answer; progress fields that are zero are left out by afserver. */
export const AfanasyJobRow = z.object({
  id: int(),
  serial: int().optional(),
  name: z.string(),
  state: z.string().default(''),
  custom_data: z.string().optional(),
  blocks: z
    .array(
      z.object({
        tasks_num: int().optional(),
        p_percentage: z.number().optional(),
        p_tasks_done: int().optional(),
        p_tasks_error: int().optional(),
      }),
    )
    .default([]),
});
export type AfanasyJobRow = z.infer<typeof AfanasyJobRow>;

export const AfanasyJobsAnswer = z.object({ jobs: z.array(AfanasyJobRow) });
export type AfanasyJobsAnswer = z.infer<typeof AfanasyJobsAnswer>;

/** How afserver (or the fake) says no: `{"error": "..."}`, or an info object of kind error. */
export const AfanasyErrorAnswer = z.union([
  z.object({ error: z.string() }),
  z.object({ info: z.object({ kind: z.literal('error'), text: z.string() }) }),
]);
export type AfanasyErrorAnswer = z.infer<typeof AfanasyErrorAnswer>;

export interface AfanasyFarmOptions {
  host: string;
  /** Default 51000. */
  port?: number;
  /** Per exchange (connect, send, read the answer). Default 10 s. */
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  /** Default `delete`. */
  cancelMode?: FarmCancelMode;
  /** `user_name` of jobs and actions. Default `kitsu-actions`. */
  userName?: string;
  /** `host_name` of jobs and actions. Default this machine's name. */
  hostName?: string;
  /** Link to a job on the studio's Afanasy web page, with `{id}` and `{serial}` placeholders. */
  jobPageUrl?: string;
  logger?: FarmLogger;
}

/** The job as sent: blocks marked numeric, custom_data a JSON string, user and host filled in. */
type WireJob = Omit<AfanasyJob, 'custom_data' | 'user_name' | 'host_name' | 'blocks'> & {
  user_name: string;
  host_name: string;
  custom_data: string;
  blocks: (AfanasyBlock & { flags: number })[];
};

/** Block flag bit 1: frames are numeric (`frame_first`..`frame_last`). */
const NUMERIC_FLAG = 1;

/** CGRU Afanasy over afserver's JSON protocol (raw `AFANASY <n> JSON` framing). */
export class AfanasyFarm implements RenderFarm<AfanasyJob> {
  readonly kind = 'afanasy' as const;
  readonly url: string;
  readonly #host: string;
  readonly #port: number;
  readonly #timeoutMs: number;
  readonly #retry: RetryPolicy;
  readonly #cancelMode: FarmCancelMode;
  readonly #userName: string;
  readonly #hostName: string;
  readonly #jobPageUrl: string | undefined;
  readonly #logger: FarmLogger | undefined;

  constructor(options: AfanasyFarmOptions) {
    if (options.host.trim() === '') throw new TypeError('Afanasy host is empty');
    this.#host = options.host;
    this.#port = options.port ?? 51000;
    if (!Number.isInteger(this.#port) || this.#port < 1 || this.#port > 65535) {
      throw new TypeError(`Afanasy port ${String(options.port)} is not a TCP port`);
    }
    this.url = `tcp://${this.#host}:${String(this.#port)}`;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#retry = { ...defaultRetryPolicy, ...options.retry };
    this.#cancelMode = options.cancelMode ?? 'delete';
    this.#userName = options.userName ?? 'kitsu-actions';
    this.#hostName = options.hostName ?? hostname();
    this.#jobPageUrl = options.jobPageUrl;
    this.#logger = options.logger;
  }

  /** afserver has no dry run: the job is checked here, as strictly as it is before a submit. */
  check(job: AfanasyJob, _options: FarmCallOptions = {}): Promise<void> {
    // A throw in the executor rejects: callers get a rejected promise, never a synchronous throw.
    return new Promise((resolve) => {
      this.#prepare(job, null);
      resolve();
    });
  }

  async submit(job: AfanasyJob, submissionKey: string, options: FarmCallOptions = {}): Promise<FarmJobRef> {
    const { signal } = options;
    const message = { job: this.#prepare(job, submissionKey) };
    const what = 'the job submission';
    // Set when a failed attempt's message may have reached afserver (its answer lost): look before resending.
    let lookFirst = false;
    return retrying(
      async () => {
        if (lookFirst) {
          const found = await this.findBySubmissionKey(submissionKey, { signal });
          if (found !== undefined) {
            this.#logger?.warn(
              { submissionKey, farmJobId: found.farmJobId },
              'afanasy job was stored after all',
            );
            return found;
          }
        }
        const answer = await this.#once(message, signal);
        this.#throwIfRefused('the job', answer);
        const { id, serial } = this.#parse(what, answer, AfanasySubmitAnswer);
        this.#logger?.debug({ submissionKey, id, serial }, 'afanasy job submitted');
        return this.#refOf(id, serial);
      },
      {
        ...this.#retry,
        signal,
        shouldRetry: (error) => {
          if (!isNetworkFailure(error)) return 'give-up';
          lookFirst = error.sent;
          return 'retry';
        },
        onRetry: ({ error, attempt, waitMs }) => {
          this.#logger?.warn(
            { submissionKey, attempt, waitMs, err: error },
            'afanasy submission failed, retrying',
          );
        },
        giveUp: (error, attempts) => this.#failure(what, error, attempts),
      },
    );
  }

  async findBySubmissionKey(
    submissionKey: string,
    options: FarmCallOptions = {},
  ): Promise<FarmJobRef | undefined> {
    const jobs = await this.#jobs({ type: 'jobs' }, 'the job list', options.signal);
    const matches = jobs
      .filter(
        (job) =>
          job.serial !== undefined && carriesSubmissionKey(customDataOf(job.custom_data), submissionKey),
      )
      .sort((a, b) => (a.serial ?? 0) - (b.serial ?? 0));
    const [first] = matches;
    if (first?.serial === undefined) return undefined;
    if (matches.length > 1) {
      this.#logger?.warn(
        { submissionKey, serials: matches.map((job) => job.serial) },
        'several afanasy jobs carry one submission key; using the oldest',
      );
    }
    return this.#refOf(first.id, first.serial);
  }

  async status(ref: FarmJobRef, options: FarmCallOptions = {}): Promise<FarmJobStatus> {
    const job = await this.#bySerial(ref, options.signal);
    const tokens = tokensOf(job.state);
    const state = stateOf(tokens);
    const tasks = job.blocks.reduce((sum, block) => sum + (block.tasks_num ?? 0), 0);
    const done = job.blocks.reduce((sum, block) => sum + (block.p_tasks_done ?? 0), 0);
    const errors = job.blocks.reduce((sum, block) => sum + (block.p_tasks_error ?? 0), 0);
    const weighted =
      tasks > 0
        ? job.blocks.reduce((sum, block) => sum + (block.p_percentage ?? 0) * (block.tasks_num ?? 0), 0) /
          tasks
        : job.blocks.reduce((sum, block) => sum + (block.p_percentage ?? 0), 0) /
          Math.max(1, job.blocks.length);
    const percent = state === 'completed' ? 100 : Math.max(0, Math.min(99, Math.floor(weighted)));
    const counts = tasks > 0 ? ` (${String(done)}/${String(tasks)} tasks)` : '';
    let message: string;
    if (state === 'completed') message = `Afanasy job "${job.name}" is done${counts}`;
    else if (state === 'failed') {
      message = `Afanasy job "${job.name}" has errors: ${String(errors)} task(s) failed${counts}, state${job.state}`;
    } else if (tokens.has('OFF'))
      message = `Afanasy job "${job.name}" is offline (paused or stopped)${counts}`;
    else if (state === 'active') message = `Rendering on Afanasy${counts}`;
    else message = `Waiting on Afanasy (state${job.state === '' ? ' unknown' : job.state})`;
    const url = this.#pageOf(job.id, Number(ref.farmJobId));
    return { state, percent, message, ...(url === undefined ? {} : { url }) };
  }

  async cancel(ref: FarmJobRef, options: CancelOptions = {}): Promise<void> {
    const mode = options.mode ?? this.#cancelMode;
    let job: AfanasyJobRow;
    try {
      job = await this.#bySerial(ref, options.signal);
    } catch (error) {
      if (error instanceof FarmJobGoneError) return;
      throw error;
    }
    const tokens = tokensOf(job.state);
    if (finalFarmStates.has(stateOf(tokens))) return;
    if (mode === 'stop' && tokens.has('OFF') && !tokens.has('RUN')) return;
    // Acted on by id, looked up by serial just before: the id is this job's, not a reused one.
    const message = {
      action: {
        type: 'jobs',
        ids: [job.id],
        user_name: this.#userName,
        host_name: this.#hostName,
        operation: { type: mode },
      },
    };
    const answer = await this.#call(message, `the ${mode} of job serial ${ref.farmJobId}`, options.signal);
    this.#throwIfRefused(`the ${mode} of job serial ${ref.farmJobId}`, answer);
    this.#logger?.debug({ farmJobId: ref.farmJobId, id: job.id, mode }, 'afanasy job cancelled');
  }

  #prepare(job: AfanasyJob, submissionKey: string | null): WireJob {
    const parsed = AfanasyJob.safeParse(job);
    if (!parsed.success) {
      throw new FarmRejectedError({
        farm: 'afanasy',
        farmUrl: this.url,
        what: 'the job',
        reason: `${summarizeIssues(parsed.error)} (checked before sending)`,
      });
    }
    const { custom_data: custom, user_name, host_name, blocks, ...rest } = parsed.data;
    const customData =
      submissionKey === null ? { ...custom } : { ...custom, [farmJobFields.submissionKey]: submissionKey };
    return {
      ...rest,
      user_name: user_name ?? this.#userName,
      host_name: host_name ?? this.#hostName,
      custom_data: JSON.stringify(customData),
      blocks: blocks.map((block) => ({ ...block, flags: NUMERIC_FLAG })),
    };
  }

  async #bySerial(ref: FarmJobRef, signal: AbortSignal | undefined): Promise<AfanasyJobRow> {
    if (ref.farm !== 'afanasy' || !/^\d+$/.test(ref.farmJobId)) {
      throw new TypeError(`not an Afanasy job serial: ${ref.farm} ${ref.farmJobId}`);
    }
    const serial = Number(ref.farmJobId);
    const jobs = await this.#jobs(
      { type: 'jobs', serials: [serial] },
      `the status of job serial ${ref.farmJobId}`,
      signal,
    );
    const job = jobs.find((row) => row.serial === serial);
    if (job === undefined) {
      throw new FarmJobGoneError({
        farm: 'afanasy',
        farmUrl: this.url,
        farmJobId: `serial ${ref.farmJobId}`,
      });
    }
    return job;
  }

  async #jobs(
    get: Record<string, unknown>,
    what: string,
    signal: AbortSignal | undefined,
  ): Promise<AfanasyJobRow[]> {
    const answer = await this.#call({ get }, what, signal);
    this.#throwIfRefused(what, answer);
    return this.#parse(what, answer, AfanasyJobsAnswer).jobs;
  }

  /** Sends a message that is harmless to repeat, with retries on network errors. */
  async #call(message: unknown, what: string, signal: AbortSignal | undefined): Promise<unknown> {
    return retrying(() => this.#once(message, signal), {
      ...this.#retry,
      signal,
      shouldRetry: (error) => (isNetworkFailure(error) ? 'retry' : 'give-up'),
      onRetry: ({ error, attempt, waitMs }) => {
        this.#logger?.warn({ what, attempt, waitMs, err: error }, 'afanasy unreachable, retrying');
      },
      giveUp: (error, attempts) => this.#failure(what, error, attempts),
    });
  }

  /** What a failed exchange is thrown as: a wire failure in farm terms, anything else as it is. */
  #failure(what: string, error: unknown, attempts: number): unknown {
    if (!(error instanceof AfanasyWireError)) return error;
    if (error.kind === 'protocol') return this.#unexpected(what, error.message);
    return this.#unavailable(what, error, attempts);
  }

  async #once(message: unknown, signal: AbortSignal | undefined): Promise<unknown> {
    return exchange(message, { host: this.#host, port: this.#port, timeoutMs: this.#timeoutMs, signal });
  }

  #throwIfRefused(what: string, answer: unknown): void {
    const refused = AfanasyErrorAnswer.safeParse(answer);
    if (!refused.success) return;
    const reason = 'error' in refused.data ? refused.data.error : refused.data.info.text;
    throw new FarmRejectedError({ farm: 'afanasy', farmUrl: this.url, what, reason });
  }

  #parse<S extends z.ZodType>(what: string, answer: unknown, schema: S): z.infer<S> {
    const parsed = schema.safeParse(answer);
    if (!parsed.success) throw this.#unexpected(what, summarizeIssues(parsed.error));
    return parsed.data;
  }

  #unexpected(what: string, problem: string): FarmResponseError {
    return new FarmResponseError({ farm: 'afanasy', farmUrl: this.url, what, problem });
  }

  #unavailable(what: string, error: AfanasyWireError, attempts: number): FarmUnavailableError {
    return new FarmUnavailableError({
      farm: 'afanasy',
      farmUrl: this.url,
      what,
      reason:
        error.code === null || error.message.includes(error.code)
          ? error.message
          : `${error.message} (${error.code})`,
      attempts,
      cause: error,
    });
  }

  #refOf(id: number, serial: number): FarmJobRef {
    const url = this.#pageOf(id, serial);
    return { farm: 'afanasy', farmJobId: String(serial), ...(url === undefined ? {} : { url }) };
  }

  #pageOf(id: number, serial: number): string | undefined {
    return this.#jobPageUrl?.replaceAll('{id}', String(id)).replaceAll('{serial}', String(serial));
  }
}

/** The connection failed or the answer got lost: another exchange may get through. */
function isNetworkFailure(error: unknown): error is AfanasyWireError {
  return error instanceof AfanasyWireError && error.kind === 'network';
}

/** `" RDY RUN"` → {RDY, RUN}. */
function tokensOf(state: string): Set<string> {
  return new Set(state.split(/\s+/).filter((token) => token !== ''));
}

function stateOf(tokens: Set<string>): FarmJobState {
  if (tokens.has('DON')) return 'completed';
  if (tokens.has('ERR')) return 'failed';
  // Offline (paused or stopped): nothing new starts until someone starts it again.
  if (tokens.has('OFF')) return 'queued';
  if (tokens.has('RUN')) return 'active';
  return 'queued';
}

/** A job's custom_data as fields; empty when it is not a JSON object (anyone may fill it with anything). */
function customDataOf(customData: string | undefined): Record<string, unknown> {
  if (customData === undefined || customData === '') return {};
  try {
    const parsed = JSON.parse(customData) as unknown;
    if (parsed !== null && typeof parsed === 'object') return parsed as Record<string, unknown>;
  } catch {
    // custom_data of a job someone else submitted, not JSON: not ours.
  }
  return {};
}
