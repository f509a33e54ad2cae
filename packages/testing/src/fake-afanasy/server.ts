import { listen, startTicker } from '../listener.ts';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { frameAnswer, readFrame } from './framing.ts';
import type {
  AfanasyFraming,
  AfanasyRequestLogEntry,
  AfanasyTaskState,
  FakeAfanasyBlock,
  FakeAfanasyJob,
  FakeAfanasyState,
} from './model.ts';
import { AfanasyRefusal, isRecord, validateJob } from './validate.ts';

export interface FakeAfanasyOptions {
  /** Default 0: a free port (the real afserver listens on 51000). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Simulated time before the first task of a new (or started/restarted) job runs. Default 1000 ms. */
  startDelayMs?: number;
  /** Simulated time each task takes. Tasks of a job run one after the other, block by block. Default 2000 ms. */
  taskMs?: number;
  /** When set, simulated time moves by `tickMs` every `tickMs` of real time; otherwise only `control.advance`. */
  tickMs?: number;
  /** Start of the simulated clock. Default Date.now(). */
  now?: number;
}

export interface FakeAfanasyControl {
  /** Moves simulated time forward, running every task start and finish due on the way. */
  advance(ms: number): void;
  /** Marks the running task of job `id` (or its next ready one) as errored: the job state gains ` ERR`. */
  failJob(id: number): void;
  /**
   * Delays answers by `ms` (0 turns it off), after the message is handled (a submitted job exists).
   * With `match`, only answers to messages it accepts (e.g. the submission of one job).
   */
  slow(ms: number, match?: (message: unknown) => boolean): void;
  /**
   * The next `count` connections get only half of their answer before the connection is dropped. With
   * `process: true` (default) the message is handled first (a submitted job exists), else it is not.
   */
  dropNext(count: number, options?: { process?: boolean }): void;
  /** The next `count` messages are answered `{"error": reason}` without being handled. */
  refuseNext(count: number, reason: string): void;
  /** Closes the listener and drops open connections: clients get ECONNREFUSED. */
  refuseConnections(): Promise<void>;
  /** Listens again on the same port. */
  acceptConnections(): Promise<void>;
  clearFaults(): void;
}

export interface FakeAfanasy {
  host: string;
  port: number;
  state: FakeAfanasyState;
  control: FakeAfanasyControl;
  close(): Promise<void>;
}

const STATE_BITS: Record<string, number> = { RDY: 1, RUN: 2, DON: 4, ERR: 8, OFF: 16 };
const OPERATIONS = ['delete', 'stop', 'pause', 'start', 'restart'] as const;
type Operation = (typeof OPERATIONS)[number];

/** afserver's state string: tokens each preceded by a space (`" RDY RUN"`, `" DON"`). */
function tokensOf(tasks: { state: AfanasyTaskState }[], offline: boolean): string[] {
  if (tasks.length > 0 && tasks.every((task) => task.state === 'DON')) return ['DON'];
  const tokens: string[] = [];
  if (!offline && tasks.some((task) => task.state === 'RDY')) tokens.push('RDY');
  if (tasks.some((task) => task.state === 'RUN')) tokens.push('RUN');
  if (tasks.some((task) => task.state === 'ERR')) tokens.push('ERR');
  if (offline) tokens.push('OFF');
  return tokens;
}

const stateString = (tokens: string[]) => tokens.map((token) => ` ${token}`).join('');
const stateBits = (tokens: string[]) => tokens.reduce((bits, token) => bits | (STATE_BITS[token] ?? 0), 0);

/** Leaves out fields whose value is zero, as afserver does for progress counters. */
function nonZero(fields: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== 0));
}

/** Starts a fake afserver on 127.0.0.1 speaking afserver's JSON protocol over TCP. */
export async function startFakeAfanasy(options: FakeAfanasyOptions = {}): Promise<FakeAfanasy> {
  const host = options.host ?? '127.0.0.1';
  const startDelayMs = options.startDelayMs ?? 1000;
  const taskMs = options.taskMs ?? 2000;
  const state: FakeAfanasyState = {
    jobs: new Map(),
    submissions: [],
    requests: [],
    now: options.now ?? Date.now(),
    nextSerial: 1,
  };
  let slowMs = 0;
  let slowMatch: ((message: unknown) => boolean) | undefined;
  let drops: { remaining: number; process: boolean }[] = [];
  let refusals: { remaining: number; reason: string }[] = [];
  const closing = new AbortController();
  const sockets = new Set<Socket>();

  const seconds = () => Math.floor(state.now / 1000);
  const allTasks = (job: FakeAfanasyJob) => job.blocks.flatMap((block) => block.tasks);
  const running = (job: FakeAfanasyJob) => allTasks(job).find((task) => task.state === 'RUN');

  const startNext = (job: FakeAfanasyJob) => {
    job.nextStartAt = null;
    if (job.offline) return;
    const next = allTasks(job).find((task) => task.state === 'RDY');
    if (next === undefined) {
      if (allTasks(job).every((task) => task.state === 'DON')) job.time_done = seconds();
      return;
    }
    next.state = 'RUN';
    next.starts += 1;
    next.finishesAt = state.now + taskMs;
    if (job.time_started === 0) job.time_started = seconds();
  };

  const nextEventAt = (job: FakeAfanasyJob): number | null => running(job)?.finishesAt ?? job.nextStartAt;

  const advance = (ms: number) => {
    const target = state.now + Math.max(0, ms);
    for (;;) {
      let due: { job: FakeAfanasyJob; at: number } | null = null;
      for (const job of state.jobs.values()) {
        const at = nextEventAt(job);
        if (at !== null && at <= target && (due === null || at < due.at)) due = { job, at };
      }
      if (due === null) break;
      state.now = Math.max(state.now, due.at);
      const task = running(due.job);
      if (task !== undefined) {
        task.state = 'DON';
        task.finishesAt = null;
      }
      startNext(due.job);
    }
    state.now = target;
  };

  const freeId = () => {
    let id = 2;
    while (state.jobs.has(id)) id += 1;
    return id;
  };

  const uniqueName = (name: string) => {
    const taken = new Set([...state.jobs.values()].map((job) => job.name));
    if (!taken.has(name)) return name;
    let n = 1;
    while (taken.has(`${name}-${String(n)}`)) n += 1;
    return `${name}-${String(n)}`;
  };

  const blockJson = (job: FakeAfanasyJob, block: FakeAfanasyBlock, index: number, mode: string) => {
    const done = block.tasks.filter((task) => task.state === 'DON').length;
    const progress = {
      block_num: index,
      state: stateString(tokensOf(block.tasks, job.offline)),
      job_id: job.id,
      ...nonZero({
        running_tasks_counter: block.tasks.filter((task) => task.state === 'RUN').length,
        p_percentage: Math.floor((100 * done) / Math.max(1, block.tasks.length)),
        p_tasks_ready: block.tasks.filter((task) => task.state === 'RDY').length,
        p_tasks_done: done,
        p_tasks_error: block.tasks.filter((task) => task.state === 'ERR').length,
      }),
    };
    if (mode === 'progress') return progress;
    const list = {
      name: block.name,
      service: block.service,
      capacity: block.capacity,
      flags: block.flags,
      numeric: block.numeric,
      tasks_num: block.tasks.length,
      frame_first: block.frame_first,
      frame_last: block.frame_last,
      frames_per_task: block.frames_per_task,
      frames_inc: block.frames_inc,
      ...progress,
    };
    if (mode !== 'full') return list;
    return {
      command: block.command,
      tasks_name: '',
      ...(block.parser === '' ? {} : { parser: block.parser }),
      ...(block.working_directory === '' ? {} : { working_directory: block.working_directory }),
      ...(block.files === '' ? {} : { files: block.files }),
      ...list,
    };
  };

  const jobJson = (job: FakeAfanasyJob, mode: string) => {
    const tokens = tokensOf(allTasks(job), job.offline);
    return {
      name: job.name,
      id: job.id,
      serial: job.serial,
      priority: job.priority,
      user_name: job.user_name,
      host_name: job.host_name,
      st: stateBits(tokens),
      state: stateString(tokens),
      ...(job.branch === '' ? {} : { branch: job.branch }),
      ...(job.custom_data === '' ? {} : { custom_data: job.custom_data }),
      time_creation: job.time_creation,
      ...nonZero({ time_started: job.time_started, time_done: job.time_done }),
      blocks: job.blocks.map((block, index) => blockJson(job, block, index, mode)),
    };
  };

  const submit = (payload: unknown): Record<string, unknown> => {
    const valid = validateJob(payload);
    const id = freeId();
    const serial = state.nextSerial;
    state.nextSerial += 1;
    const job: FakeAfanasyJob = {
      id,
      serial,
      name: uniqueName(valid.name),
      user_name: valid.user_name,
      host_name: valid.host_name,
      priority: valid.priority,
      branch: valid.branch,
      custom_data: valid.custom_data,
      time_creation: seconds(),
      time_started: 0,
      time_done: 0,
      offline: valid.offline,
      nextStartAt: valid.offline ? null : state.now + startDelayMs,
      blocks: valid.blocks.map((block, index) => ({
        ...block,
        tasks: Array.from({ length: valid.tasksNum[index] ?? 0 }, () => ({
          state: 'RDY' as const,
          finishesAt: null,
          starts: 0,
          errors: 0,
        })),
      })),
    };
    state.jobs.set(id, job);
    state.submissions.push({ id, serial, job: payload as Record<string, unknown>, at: state.now });
    return { id, serial };
  };

  const intList = (value: unknown, key: string): number[] | undefined => {
    if (value === undefined) return undefined;
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'number' && Number.isInteger(v))) {
      throw new AfanasyRefusal(`"${key}": expected an array of integers`);
    }
    return value as number[];
  };

  const get = (payload: unknown): Record<string, unknown> => {
    if (!isRecord(payload)) throw new AfanasyRefusal('"get": expected an object');
    if (payload['type'] !== 'jobs') {
      throw new AfanasyRefusal(`"get": type ${JSON.stringify(payload['type'])} is not served by this fake`);
    }
    const ids = intList(payload['ids'], 'ids');
    const serials = intList(payload['serials'], 'serials');
    const mode = payload['mode'] ?? 'list';
    if (typeof mode !== 'string' || !['list', 'full', 'progress'].includes(mode)) {
      throw new AfanasyRefusal(`"mode": expected "full" or "progress"`);
    }
    let jobs = [...state.jobs.values()].sort((a, b) => a.id - b.id);
    if (ids !== undefined) jobs = jobs.filter((job) => ids.includes(job.id));
    if (serials !== undefined) jobs = jobs.filter((job) => serials.includes(job.serial));
    const single = jobs[0];
    if (mode === 'progress' && ids?.length === 1 && single !== undefined) {
      return {
        job_progress: {
          id: single.id,
          progress: single.blocks.map((block) =>
            block.tasks.map((task) => ({
              state: ` ${task.state}`,
              ...nonZero({ str: task.starts, err: task.errors, per: task.state === 'DON' ? 100 : 0 }),
            })),
          ),
        },
      };
    }
    return { jobs: jobs.map((job) => jobJson(job, mode)) };
  };

  const act = (payload: unknown): Record<string, unknown> => {
    if (!isRecord(payload)) throw new AfanasyRefusal('"action": expected an object');
    if (payload['type'] !== 'jobs') throw new AfanasyRefusal('"action": type must be "jobs"');
    for (const key of ['user_name', 'host_name']) {
      if (typeof payload[key] !== 'string') throw new AfanasyRefusal(`"action": "${key}" must be a string`);
    }
    const ids = intList(payload['ids'], 'ids');
    if (ids === undefined || ids.length === 0) throw new AfanasyRefusal('"action": "ids" is required');
    const operation = payload['operation'];
    const type = isRecord(operation) ? operation['type'] : undefined;
    if (typeof type !== 'string' || !(OPERATIONS as readonly string[]).includes(type)) {
      throw new AfanasyRefusal(`"action": operation type must be one of ${OPERATIONS.join(', ')}`);
    }
    const done: string[] = [];
    for (const id of ids) {
      const job = state.jobs.get(id);
      if (job === undefined) continue;
      operate(job, type as Operation);
      done.push(job.name);
    }
    return {
      info: { kind: 'log', text: `${type}: ${done.length === 0 ? 'no jobs found' : done.join(', ')}` },
    };
  };

  const operate = (job: FakeAfanasyJob, operation: Operation) => {
    const tasks = allTasks(job);
    switch (operation) {
      case 'delete':
        state.jobs.delete(job.id);
        return;
      case 'stop':
        for (const task of tasks.filter((t) => t.state === 'RUN')) {
          task.state = 'RDY';
          task.finishesAt = null;
        }
        job.offline = true;
        job.nextStartAt = null;
        return;
      case 'pause':
        job.offline = true;
        job.nextStartAt = null;
        return;
      case 'start':
        job.offline = false;
        if (running(job) === undefined) job.nextStartAt = state.now + startDelayMs;
        return;
      case 'restart':
        for (const task of tasks) {
          task.state = 'RDY';
          task.finishesAt = null;
        }
        job.offline = false;
        job.time_started = 0;
        job.time_done = 0;
        job.nextStartAt = state.now + startDelayMs;
        return;
    }
  };

  const kindOf = (message: unknown): AfanasyRequestLogEntry['kind'] => {
    if (!isRecord(message)) return 'invalid';
    if ('job' in message) return 'job';
    if ('get' in message) return 'get';
    return 'action' in message ? 'action' : 'invalid';
  };

  const answer = (body: Buffer): { kind: AfanasyRequestLogEntry['kind']; message: unknown; json: object } => {
    let message: unknown;
    try {
      message = JSON.parse(body.toString('utf8')) as unknown;
    } catch (error) {
      const text = body.toString('utf8');
      return {
        kind: 'invalid',
        message: text,
        json: { error: `JSON parse error: ${(error as Error).message}` },
      };
    }
    const refusal = refusals.find((rule) => rule.remaining > 0);
    if (refusal !== undefined) {
      refusal.remaining -= 1;
      return { kind: kindOf(message), message, json: { error: refusal.reason } };
    }
    try {
      if (isRecord(message) && 'job' in message)
        return { kind: 'job', message, json: submit(message['job']) };
      if (isRecord(message) && 'get' in message) return { kind: 'get', message, json: get(message['get']) };
      if (isRecord(message) && 'action' in message)
        return { kind: 'action', message, json: act(message['action']) };
      return {
        kind: 'invalid',
        message,
        json: { error: 'unknown message: expected "job", "get" or "action"' },
      };
    } catch (error) {
      if (!(error instanceof AfanasyRefusal)) throw error;
      return { kind: kindOf(message), message, json: { error: error.message } };
    }
  };

  const respond = async (socket: Socket, framing: AfanasyFraming, body: Buffer) => {
    const drop = drops.find((rule) => rule.remaining > 0);
    if (drop !== undefined) drop.remaining -= 1;
    let reply: ReturnType<typeof answer> | null = null;
    if (drop === undefined || drop.process) reply = answer(body);
    if (slowMs > 0 && (slowMatch?.(reply?.message) ?? true)) {
      await delay(slowMs, undefined, { signal: closing.signal });
    }
    const bytes = frameAnswer(framing, JSON.stringify(reply?.json ?? { error: 'dropped' }));
    state.requests.push({
      framing,
      message: reply?.message ?? body.toString('utf8'),
      kind: reply?.kind ?? 'invalid',
      answer: drop === undefined ? 'full' : 'dropped',
    });
    if (drop !== undefined) {
      socket.write(bytes.subarray(0, Math.floor(bytes.length / 2)), () => socket.destroy());
      return;
    }
    socket.end(bytes);
  };

  const onConnection = (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => {
      // The client went away: nothing to answer.
    });
    let data = Buffer.alloc(0);
    let handled = false;
    socket.on('data', (chunk: Buffer) => {
      if (handled) return;
      data = Buffer.concat([data, chunk]);
      const framed = readFrame(data);
      if (framed.kind === 'incomplete') return;
      handled = true;
      if (framed.kind === 'garbage') {
        if (framed.framing === 'http') {
          socket.end(frameAnswer('http', JSON.stringify({ error: framed.reason }), 400));
        } else {
          socket.destroy();
        }
        return;
      }
      respond(socket, framed.framing, framed.body).catch(() => {
        socket.destroy();
      });
    });
  };

  const server: Server = createServer(onConnection);
  const listener = await listen(server, {
    port: options.port,
    host,
    dropConnections: () => {
      for (const socket of sockets) socket.destroy();
    },
  });
  const port = listener.port;

  const ticker = startTicker(options.tickMs, advance);

  const control: FakeAfanasyControl = {
    advance,
    failJob: (id) => {
      const job = state.jobs.get(id);
      if (job === undefined) throw new Error(`fake-afanasy: no job ${String(id)}`);
      const task = running(job) ?? allTasks(job).find((t) => t.state === 'RDY');
      if (task === undefined) throw new Error(`fake-afanasy: job ${String(id)} has no task left to fail`);
      const wasRunning = task.state === 'RUN';
      task.state = 'ERR';
      task.errors += 1;
      task.finishesAt = null;
      if (wasRunning) startNext(job);
    },
    slow: (ms, match) => {
      slowMs = ms;
      slowMatch = match;
    },
    refuseNext: (count, reason) => {
      refusals.push({ remaining: count, reason });
    },
    dropNext: (count, opts = {}) => {
      drops.push({ remaining: count, process: opts.process ?? true });
    },
    refuseConnections: () => listener.refuse(),
    acceptConnections: () => listener.accept(),
    clearFaults: () => {
      slowMs = 0;
      slowMatch = undefined;
      drops = [];
      refusals = [];
    },
  };

  return {
    host,
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
