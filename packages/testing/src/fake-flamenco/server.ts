import { HttpFaults, matches, type RouteMatcher } from '../faults.ts';
import { listen, readBody, startTicker } from '../listener.ts';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import type {
  FakeFlamencoJob,
  FakeFlamencoJobType,
  FakeFlamencoState,
  FlamencoJobStatus,
  FlamencoRequestLogEntry,
  FlamencoTaskStatus,
} from './model.ts';
import { apiError, isJobStatus, isRecord, isUuid, schemaError, validateSubmittedJob } from './validate.ts';
import type { Refusal } from './validate.ts';

export interface FakeFlamencoOptions {
  /** Default 0: a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Reported by `/api/v3/version`. `steps_completed`/`steps_total` are sent from 3.8 on. Default 3.8.2. */
  version?: string;
  /** Simulated time a queued job waits for a worker before it becomes active. Default 1000 ms. */
  startDelayMs?: number;
  /** Simulated time each task (frame chunk) takes. Tasks of a job run one after the other. Default 2000 ms. */
  taskMs?: number;
  /** Simulated time of cancel-requested → canceled, pause-requested → paused, requeueing → queued. Default 500 ms. */
  transitionMs?: number;
  /** When set, simulated time moves by `tickMs` every `tickMs` of real time; otherwise only `control.advance`. */
  tickMs?: number;
  /** Etag of every job type (a submitted non-empty `type_etag` that differs → 412). */
  jobTypeEtag?: string;
  /** Start of the simulated clock. Default Date.now(). */
  now?: number;
}

/** Paths are full paths (`/api/v3/jobs`). */
export type FlamencoRouteMatcher = RouteMatcher;

/** Also matches on the parsed request body, e.g. to hold the submission of one job only. */
export interface FlamencoAnswerMatcher extends FlamencoRouteMatcher {
  body?: (body: unknown) => boolean;
}

export interface FakeFlamencoControl {
  /** Moves simulated time forward, running every job transition due on the way. */
  advance(ms: number): void;
  /** Fails a job now: status `failed`, `activity` = reason, its running task failed, the rest canceled. */
  failJob(jobId: string, reason: string): void;
  /** The next `count` matching requests are answered `status` (`{ code, message }`) before reaching a route. */
  failNext(count: number, status: number, match?: FlamencoRouteMatcher): void;
  /** The next `count` matching requests get 503 + `Retry-After: seconds`, as when the database is busy. */
  busy(count: number, retryAfterSeconds: number, match?: FlamencoRouteMatcher): void;
  /** Delays matching requests by `ms` (0 turns it off). */
  slow(ms: number, match?: FlamencoRouteMatcher): void;
  /**
   * Handles matching requests at once (a submitted job is stored, the request is logged) but holds their
   * answer for `ms` (0 turns it off): a client that dies meanwhile never learns what happened.
   */
  slowAnswers(ms: number, match?: FlamencoAnswerMatcher): void;
  /** Closes the listener and drops open connections: clients get ECONNREFUSED. */
  refuseConnections(): Promise<void>;
  /** Listens again on the same port. */
  acceptConnections(): Promise<void>;
  /** Clears failNext, busy and slow rules. */
  clearFaults(): void;
  /** Requests logged so far that match. */
  requests(match?: FlamencoRouteMatcher): FlamencoRequestLogEntry[];
}

export interface FakeFlamenco {
  /** Manager base URL, e.g. `http://127.0.0.1:41234` (routes are under `/api/v3`). */
  url: string;
  port: number;
  state: FakeFlamencoState;
  control: FakeFlamencoControl;
  close(): Promise<void>;
}

interface Answer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

interface Ctx {
  params: Record<string, string>;
  body: unknown;
}

interface Route {
  method: 'GET' | 'POST';
  path: string;
  handle: (ctx: Ctx) => Answer;
}

const TRANSITIONAL: Partial<Record<FlamencoJobStatus, FlamencoJobStatus>> = {
  'cancel-requested': 'canceled',
  'pause-requested': 'paused',
  requeueing: 'queued',
};

/** Status changes a client may ask for, and from which statuses. */
const ALLOWED_CHANGES: Partial<Record<FlamencoJobStatus, readonly FlamencoJobStatus[]>> = {
  'cancel-requested': ['queued', 'active', 'paused', 'pause-requested', 'requeueing', 'under-construction'],
  'pause-requested': ['queued', 'active'],
  requeueing: ['completed', 'failed', 'canceled', 'paused'],
  queued: ['paused'],
};

function versionAtLeast(version: string, major: number, minor: number): boolean {
  const [maj = 0, min = 0] = version.split('.').map((part) => Number.parseInt(part, 10) || 0);
  return maj > major || (maj === major && min >= minor);
}

/** Starts a fake Flamenco 3 Manager on 127.0.0.1. */
export async function startFakeFlamenco(options: FakeFlamencoOptions = {}): Promise<FakeFlamenco> {
  const host = options.host ?? '127.0.0.1';
  const version = options.version ?? '3.8.2';
  const startDelayMs = options.startDelayMs ?? 1000;
  const taskMs = options.taskMs ?? 2000;
  const transitionMs = options.transitionMs ?? 500;
  const withSteps = versionAtLeast(version, 3, 8);
  const etag = options.jobTypeEtag ?? 'a9f8d2b1c0e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7';
  const jobTypes = new Map<string, FakeFlamencoJobType>([
    ['simple-blender-render', { name: 'simple-blender-render', label: 'Simple Blender Render', etag }],
    ['echo-sleep-test', { name: 'echo-sleep-test', label: 'Echo Sleep Test', etag }],
  ]);
  const state: FakeFlamencoState = {
    jobs: new Map(),
    submissions: [],
    requests: [],
    jobTypes,
    now: options.now ?? Date.now(),
  };
  const faults = new HttpFaults();
  let slowAnswerRules: (FlamencoAnswerMatcher & { ms: number })[] = [];
  const closing = new AbortController();

  const iso = () => new Date(state.now).toISOString();

  const setStatus = (job: FakeFlamencoJob, status: FlamencoJobStatus) => {
    job.status = status;
    job.statusSince = state.now;
    job.updated = iso();
  };

  const setTasks = (job: FakeFlamencoJob, from: readonly FlamencoTaskStatus[], to: FlamencoTaskStatus) => {
    for (const task of job.tasks) {
      if (!from.includes(task.status)) continue;
      task.status = to;
      task.updated = iso();
      task.finishesAt = null;
    }
  };

  /** Starts the next queued task of an active job, or completes the job when none is left. */
  const startNextTask = (job: FakeFlamencoJob) => {
    const next = job.tasks.find((task) => task.status === 'queued');
    if (next === undefined) {
      if (job.tasks.every((task) => task.status === 'completed')) setStatus(job, 'completed');
      return;
    }
    next.status = 'active';
    next.updated = iso();
    next.finishesAt = state.now + taskMs;
  };

  const nextEventAt = (job: FakeFlamencoJob): number | null => {
    if (job.status === 'queued') return job.statusSince + startDelayMs;
    if (job.status === 'active') {
      const running = job.tasks.find((task) => task.status === 'active');
      return running?.finishesAt ?? state.now;
    }
    if (TRANSITIONAL[job.status] !== undefined) return job.statusSince + transitionMs;
    return null;
  };

  const runEvent = (job: FakeFlamencoJob) => {
    switch (job.status) {
      case 'queued':
        setStatus(job, 'active');
        startNextTask(job);
        return;
      case 'active': {
        const running = job.tasks.find((task) => task.status === 'active');
        if (running !== undefined) {
          running.status = 'completed';
          running.updated = iso();
          running.finishesAt = null;
          job.updated = iso();
        }
        startNextTask(job);
        return;
      }
      case 'cancel-requested':
        setTasks(job, ['active', 'queued', 'paused', 'soft-failed'], 'canceled');
        setStatus(job, 'canceled');
        return;
      case 'pause-requested':
        setTasks(job, ['active', 'queued'], 'paused');
        setStatus(job, 'paused');
        return;
      case 'requeueing':
        setStatus(job, 'queued');
        return;
      default:
        return;
    }
  };

  const advance = (ms: number) => {
    const target = state.now + Math.max(0, ms);
    for (;;) {
      let due: { job: FakeFlamencoJob; at: number } | null = null;
      for (const job of state.jobs.values()) {
        const at = nextEventAt(job);
        if (at !== null && at <= target && (due === null || at < due.at)) due = { job, at };
      }
      if (due === null) break;
      state.now = Math.max(state.now, due.at);
      runEvent(due.job);
    }
    state.now = target;
  };

  const toJson = (job: FakeFlamencoJob): Record<string, unknown> => ({
    id: job.id,
    name: job.name,
    type: job.type,
    priority: job.priority,
    submitter_platform: job.submitter_platform,
    settings: job.settings,
    metadata: job.metadata,
    ...(job.type_etag === undefined ? {} : { type_etag: job.type_etag }),
    ...(job.worker_tag === undefined ? {} : { worker_tag: job.worker_tag }),
    created: job.created,
    updated: job.updated,
    status: job.status,
    activity: job.activity,
    ...(withSteps
      ? {
          steps_completed: job.tasks.filter((task) => task.status === 'completed').length,
          steps_total: job.tasks.length,
        }
      : {}),
  });

  const findJob = (id: string | undefined): FakeFlamencoJob | Refusal => {
    if (id === undefined || !isUuid(id)) return apiError(400, 'job ID not valid');
    const job = state.jobs.get(id.toLowerCase());
    return job ?? apiError(404, 'no such job');
  };

  const refusal = (r: Refusal): Answer => ({ status: r.status, body: r.body });

  const routes: Route[] = [
    {
      method: 'GET',
      path: '/api/v3/version',
      handle: () => ({
        status: 200,
        body: {
          version,
          shortversion: version.split('-')[0],
          name: 'Fake Flamenco',
          git: `v${version}-fake`,
        },
      }),
    },
    {
      method: 'GET',
      path: '/api/v3/jobs/types',
      handle: () => ({
        status: 200,
        body: { job_types: [...jobTypes.values()].map((t) => ({ ...t, settings: [] })) },
      }),
    },
    {
      method: 'GET',
      path: '/api/v3/jobs/type/:name',
      handle: ({ params }) => {
        const jobType = jobTypes.get(params['name'] ?? '');
        return jobType === undefined
          ? refusal(apiError(404, 'no such job type known'))
          : { status: 200, body: { ...jobType, settings: [] } };
      },
    },
    {
      method: 'POST',
      path: '/api/v3/jobs/check',
      handle: ({ body }) => {
        const valid = validateSubmittedJob(body, jobTypes);
        return 'status' in valid ? refusal(valid) : { status: 204 };
      },
    },
    {
      method: 'POST',
      path: '/api/v3/jobs',
      handle: ({ body }) => {
        const valid = validateSubmittedJob(body, jobTypes);
        if ('status' in valid) return refusal(valid);
        const id = randomUUID();
        const now = iso();
        const job: FakeFlamencoJob = {
          id,
          name: valid.name,
          type: valid.type,
          priority: valid.priority,
          submitter_platform: valid.submitter_platform,
          settings: valid.settings,
          metadata: valid.metadata,
          ...(valid.type_etag === undefined ? {} : { type_etag: valid.type_etag }),
          ...(valid.worker_tag === undefined ? {} : { worker_tag: valid.worker_tag }),
          status: valid.initial_status,
          activity: '',
          created: now,
          updated: now,
          statusSince: state.now,
          tasks: valid.chunks.map((frames, index) => ({
            id: randomUUID(),
            name: `render-${frames}`,
            status: valid.initial_status === 'paused' ? 'paused' : 'queued',
            priority: 50,
            task_type: 'blender',
            index_in_job: index + 1,
            frames,
            activity: '',
            created: now,
            updated: now,
            finishesAt: null,
          })),
        };
        state.jobs.set(id, job);
        state.submissions.push({ jobId: id, body: body as Record<string, unknown>, at: state.now });
        return { status: 200, body: toJson(job) };
      },
    },
    {
      method: 'GET',
      path: '/api/v3/jobs',
      handle: () => ({ status: 200, body: { jobs: [...state.jobs.values()].map(toJson) } }),
    },
    {
      method: 'GET',
      path: '/api/v3/jobs/:id',
      handle: ({ params }) => {
        const job = findJob(params['id']);
        return 'tasks' in job ? { status: 200, body: toJson(job) } : refusal(job);
      },
    },
    {
      method: 'GET',
      path: '/api/v3/jobs/:id/tasks',
      handle: ({ params }) => {
        const job = findJob(params['id']);
        if (!('tasks' in job)) return refusal(job);
        return {
          status: 200,
          body: {
            tasks: job.tasks.map((task) => ({
              id: task.id,
              name: task.name,
              status: task.status,
              priority: task.priority,
              task_type: task.task_type,
              updated: task.updated,
              index_in_job: task.index_in_job,
            })),
          },
        };
      },
    },
    {
      method: 'POST',
      path: '/api/v3/jobs/:id/setstatus',
      handle: ({ params, body }) => {
        if (!isRecord(body)) return refusal(schemaError('JobStatusChange', '', 'value must be an object'));
        for (const field of ['status', 'reason']) {
          if (!(field in body)) {
            return refusal(schemaError('JobStatusChange', `/${field}`, `property "${field}" is missing`));
          }
        }
        const { status, reason } = body;
        if (!isJobStatus(status)) {
          return refusal(schemaError('JobStatusChange', '/status', 'value is not one of the allowed values'));
        }
        if (typeof reason !== 'string') {
          return refusal(schemaError('JobStatusChange', '/reason', 'value must be a string'));
        }
        const job = findJob(params['id']);
        if (!('tasks' in job)) return refusal(job);
        const from = ALLOWED_CHANGES[status];
        if (from === undefined || !from.includes(job.status)) {
          return refusal(apiError(422, `job is ${job.status}, its status cannot be changed to "${status}"`));
        }
        if (status === 'requeueing') {
          const again: FlamencoTaskStatus[] =
            job.status === 'completed'
              ? ['completed', 'failed', 'canceled', 'paused', 'soft-failed']
              : ['failed', 'canceled', 'paused', 'soft-failed'];
          setTasks(job, again, 'queued');
        }
        if (status === 'queued') setTasks(job, ['paused'], 'queued');
        job.activity = `Changed to status "${status}": ${reason}`;
        setStatus(job, status);
        return { status: 204 };
      },
    },
  ];

  const compiled = routes.map((route) => {
    const names: string[] = [];
    const source = route.path.replace(/:([a-z]+)/g, (_, name: string) => {
      names.push(name);
      return '([^/]+)';
    });
    return { route, names, pattern: new RegExp(`^${source}$`) };
  });

  const send = async (
    res: ServerResponse,
    answer: Answer,
    log: Omit<FlamencoRequestLogEntry, 'status'>,
  ): Promise<void> => {
    state.requests.push({ ...log, status: answer.status });
    for (const rule of slowAnswerRules) {
      if (rule.ms > 0 && matches(rule, log.method, log.path) && (rule.body?.(log.body) ?? true)) {
        await delay(rule.ms, undefined, { signal: closing.signal });
      }
    }
    if (res.destroyed) return;
    const headers: Record<string, string> = { ...answer.headers };
    let payload = '';
    if (answer.body !== undefined) {
      payload = JSON.stringify(answer.body);
      headers['content-type'] = 'application/json; charset=UTF-8';
    }
    res.writeHead(answer.status, headers);
    res.end(payload);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://fake-flamenco');
    const method = (req.method ?? 'GET').toUpperCase();
    const path = url.pathname;
    const rawBody = await readBody(req);
    let body: unknown;
    let bodyProblem: string | null = null;
    if (rawBody.trim() !== '') {
      const contentType = (req.headers['content-type'] ?? '').toLowerCase();
      if (!contentType.startsWith('application/json')) {
        bodyProblem = `request body has an error: header Content-Type has unexpected value: "${contentType}"`;
      } else {
        try {
          body = JSON.parse(rawBody) as unknown;
        } catch (error) {
          bodyProblem = `request body has an error: failed to decode request body: ${(error as Error).message}`;
        }
      }
    }
    const log = { method, path, body: body ?? (rawBody === '' ? undefined : rawBody), injected: false };

    const fail = await faults.apply(method, path, closing.signal);
    if (fail !== undefined) {
      const headers: Record<string, string> = {};
      if (fail.retryAfter !== undefined) headers['retry-after'] = String(fail.retryAfter);
      const message =
        fail.status === 503
          ? 'database is too busy, try again later'
          : `injected failure ${String(fail.status)}`;
      await send(
        res,
        { status: fail.status, headers, body: { code: fail.status, message } },
        { ...log, injected: true },
      );
      return;
    }

    const candidates = compiled.flatMap((c) => {
      const m = c.pattern.exec(path);
      return m === null ? [] : [{ ...c, match: m }];
    });
    if (candidates.length === 0) {
      await send(res, { status: 404, body: { message: 'Not Found' } }, log);
      return;
    }
    // Like echo: a path known for another method is 405 (this is how `POST /api/v3/jobs/query` answers
    // since 3.6: the path now only matches `GET /api/v3/jobs/{job_id}`).
    const found = candidates.find((c) => c.route.method === method);
    if (found === undefined) {
      await send(res, { status: 405, body: { message: 'Method Not Allowed' } }, log);
      return;
    }
    if (method === 'POST' && bodyProblem === null && body === undefined) {
      bodyProblem = 'request body has an error: value is required but missing';
    }
    if (bodyProblem !== null) {
      await send(res, { status: 400, body: { message: bodyProblem } }, log);
      return;
    }
    const params: Record<string, string> = {};
    found.names.forEach((name, index) => {
      params[name] = decodeURIComponent(found.match[index + 1] ?? '');
    });
    let answer: Answer;
    try {
      answer = found.route.handle({ params, body });
    } catch (error) {
      answer = { status: 500, body: { code: 500, message: `unexpected error: ${String(error)}` } };
    }
    await send(res, answer, log);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      // Aborted by close() while slowed down, or the client went away: drop the connection.
      res.destroy();
    });
  });
  const listener = await listen(server, {
    port: options.port,
    host,
    dropConnections: () => server.closeAllConnections(),
  });
  const port = listener.port;

  const ticker = startTicker(options.tickMs, advance);

  const control: FakeFlamencoControl = {
    advance,
    failJob: (jobId, reason) => {
      const job = state.jobs.get(jobId);
      if (job === undefined) throw new Error(`fake-flamenco: no job ${jobId}`);
      for (const task of job.tasks) {
        if (task.status === 'active') {
          task.status = 'failed';
          task.activity = reason;
          task.updated = iso();
          task.finishesAt = null;
        }
      }
      setTasks(job, ['queued', 'paused', 'soft-failed'], 'canceled');
      job.activity = reason;
      setStatus(job, 'failed');
    },
    failNext: (count, status, match = {}) => faults.failNext(count, { status }, match),
    busy: (count, retryAfterSeconds, match = {}) =>
      faults.failNext(count, { status: 503, retryAfter: retryAfterSeconds }, match),
    slow: (ms, match = {}) => faults.slow(ms, match),
    slowAnswers: (ms, match = {}) => {
      slowAnswerRules = slowAnswerRules.filter(
        (r) => r.method !== match.method || String(r.path) !== String(match.path) || r.body !== match.body,
      );
      if (ms > 0) slowAnswerRules.push({ ...match, ms });
    },
    refuseConnections: () => listener.refuse(),
    acceptConnections: () => listener.accept(),
    clearFaults: () => {
      faults.clear();
      slowAnswerRules = [];
    },
    requests: (match = {}) => state.requests.filter((r) => matches(match, r.method, r.path)),
  };

  return {
    url: `http://${host}:${String(port)}`,
    port,
    state,
    control,
    close: async () => {
      if (!(await listener.close())) return;
      if (ticker !== null) clearInterval(ticker);
      closing.abort();
    },
  };
}
