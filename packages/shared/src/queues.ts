import { createHash, randomUUID } from 'node:crypto';
import { Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import {
  CancelOutcome,
  cancelChannel,
  cancelReason,
  parseCancelRequest,
  type CancelRequest,
} from './cancel.ts';
import type { CatalogueAction } from './catalogue.ts';
import {
  bullJobKey,
  cancelIndexed,
  forgetIfGone,
  forgetIndexed,
  indexedScopes,
  indexJob,
  queryIndex,
  readIndexed,
  scopeOf,
} from './job-index.ts';
import type { VerifiedRequest } from './kitsu-request.ts';
import { JobData, type RawRequest } from './jobs.ts';
import { QueueName } from './kinds/define.ts';
import { jobKinds } from './kinds/index.ts';
import { ReportOutcome } from './report.ts';
import {
  finalStates,
  JobSummary,
  listEntryOf,
  relativeJobLinks,
  statusViewOf,
  summaryOf,
  type JobLinks,
  type JobListEntry,
  type JobRecord,
  type JobState,
  type JobStatusView,
} from './status.ts';

export type RedisRole = 'producer' | 'consumer';

/**
 * Producers fail fast (no offline queue, short timeouts) so the receiver answers 503 at once when Redis
 * is gone; consumers wait for Redis to come back (BullMQ needs maxRetriesPerRequest: null there).
 */
export function createRedis(url: string, role: RedisRole, timeoutMs = 800): Redis {
  const retryStrategy = (attempt: number): number => Math.min(100 * 2 ** Math.min(attempt, 5), 2000);
  if (role === 'producer') {
    return new Redis(url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: timeoutMs * 2,
      commandTimeout: timeoutMs,
      retryStrategy,
      lazyConnect: false,
    });
  }
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, retryStrategy });
}

/** Redis did not answer: the request was not accepted and nothing was queued. */
export class QueueUnavailableError extends Error {
  constructor(cause: unknown) {
    super(`The job queue (Redis) is unavailable: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
    this.name = 'QueueUnavailableError';
  }
}

class RedisTimeoutError extends Error {
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = 'RedisTimeoutError';
  }
}

/** Errors ioredis (and redis-errors) raise when Redis refuses, drops or does not answer a command. */
const redisErrorNames: ReadonlySet<string> = new Set([
  'RedisTimeoutError',
  'ReplyError',
  'AbortError',
  'InterruptError',
  'ParserError',
  'RedisError',
  'MaxRetriesPerRequestError',
]);
const redisErrorMessage =
  /Connection is closed|Stream isn't writeable|Command timed out|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH/;

/** Whether `error` says Redis is unavailable, rather than a fault of the data or of the code. */
function isRedisError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return redisErrorNames.has(error.name) || redisErrorMessage.test(error.message);
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RedisTimeoutError(ms)), ms);
  });
  // Stryker disable next-line ArrowFunction: equivalent, once the race is settled a late rejection of the timer changes nothing (the race handles it); clearing it only frees the timer early
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

export interface EnqueueResult {
  id: string;
  /** True when the same person ran the same action on the same selection within the dedup window. */
  deduplicated: boolean;
}

export interface JobFilter {
  personId?: string | undefined;
  actionId?: string | undefined;
  state?: JobState | undefined;
  /**
   * Only what this reader may see: their own jobs (`personId`) and the jobs of these scopes (production
   * sets, see scopeOf). Absent: every job.
   */
  visible?: { personId?: string | undefined; scopes: readonly string[] } | undefined;
}

/** Job ids carry their queue (`pages-<uuid>`), so a status lookup needs no index. */
export function queueOfJobId(id: string): QueueName | undefined {
  const parsed = QueueName.safeParse(id.slice(0, id.indexOf('-')));
  return parsed.success ? parsed.data : undefined;
}

/** The data of the job a request makes: the catalogue entry as it was at the click, and what was asked. */
export function jobDataOf(action: CatalogueAction, request: VerifiedRequest, raw?: RawRequest): JobData {
  return {
    request,
    action: {
      id: action.id,
      name: action.name,
      kind: action.kind,
      entityType: action.entityType,
      ajax: action.ajax,
      options: action.options,
      ...(action.report === undefined ? {} : { report: action.report }),
    },
    ...(jobKinds[action.kind].keepRawRequest && raw ? { raw } : {}),
  };
}

/** Same person, action, project and set of tasks: the same click. */
function dedupKey(actionId: string, request: VerifiedRequest): string {
  const parts = [request.personId, actionId, request.projectId ?? '', ...[...request.taskIds].sort()];
  return createHash('sha256').update(parts.join('\n')).digest('hex');
}

/** Reads wait this long for their connection when it is still connecting (a receiver just started). */
function waitReady(redis: Redis, ms: number): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  if (!['wait', 'connecting', 'connect'].includes(redis.status)) {
    return Promise.reject(new QueueUnavailableError(new Error(`connection is ${redis.status}`)));
  }
  return withTimeout(
    new Promise<void>((resolve) => {
      redis.once('ready', () => resolve());
    }),
    ms,
  );
}

/** A field's JSON; undefined for no field (null), an empty one, and text not written by us (or cut short). */
function parseJson(text: string | null): unknown {
  let value: unknown;
  try {
    // Not JSON.parse(null): that is JSON's null, where there is no field at all.
    if (text !== null) value = JSON.parse(text);
  } catch {
    // '' or not JSON: the view does without it.
  }
  return value;
}

function integer(text: string): number | undefined {
  const value = Number.parseInt(text, 10);
  return Number.isFinite(value) ? value : undefined;
}

/**
 * The receiver's side of BullMQ, the one place it touches queues. Writes (add, cancel) go through the
 * producer connection; every read goes through a connection of its own, reads the job index and BullMQ's
 * small fields (never a job's data or result, but for /result), and pages in Redis.
 */
export class JobQueues {
  private readonly queues = new Map<QueueName, Queue>();
  private readonly reader: Redis;

  constructor(
    private readonly connection: Redis,
    private readonly options: { prefix: string; timeoutMs: number; dedupWindowMs: number },
  ) {
    // Same settings (fail fast), its own socket: a burst of listings never queues ahead of an add.
    this.reader = connection.duplicate();
    // Errors surface on the calls that hit them; the connection keeps reconnecting on its own.
    this.reader.on('error', () => undefined);
  }

  queue(name: QueueName): Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Queue(name, { connection: this.connection, prefix: this.options.prefix });
      // Errors surface on the calls that hit them; the connection keeps reconnecting on its own.
      queue.on('error', () => undefined);
      this.queues.set(name, queue);
    }
    return queue;
  }

  private async call<T>(work: () => Promise<T>): Promise<T> {
    if (this.connection.status !== 'ready') {
      throw new QueueUnavailableError(new Error(`connection is ${this.connection.status}`));
    }
    try {
      return await withTimeout(work(), this.options.timeoutMs);
    } catch (error) {
      // Only Redis's own failures are "unavailable": a bug or bad data (a stack overflow serialising the
      // job, say) is an error of its own, not a reason to tell people to retry later.
      if (isRedisError(error) || this.connection.status !== 'ready') throw new QueueUnavailableError(error);
      throw error;
    }
  }

  /** The same as `call`, on the reader's connection. */
  private async read<T>(work: (redis: Redis) => Promise<T>): Promise<T> {
    await waitReady(this.reader, this.options.timeoutMs).catch((error: unknown) => {
      throw error instanceof QueueUnavailableError ? error : new QueueUnavailableError(error);
    });
    try {
      return await withTimeout(work(this.reader), this.options.timeoutMs);
    } catch (error) {
      if (isRedisError(error) || this.reader.status !== 'ready') throw new QueueUnavailableError(error);
      throw error;
    }
  }

  async enqueue(action: CatalogueAction, request: VerifiedRequest, raw?: RawRequest): Promise<EnqueueResult> {
    const spec = jobKinds[action.kind];
    const id = `${spec.queue}-${randomUUID()}`;
    const data = jobDataOf(action, request, raw);
    const window = this.options.dedupWindowMs;
    const deduplication =
      window > 0 ? { deduplication: { id: dedupKey(action.id, request), ttl: window } } : {};
    const createdAt = Date.now();
    const summary = summaryOf(data);
    const { prefix } = this.options;
    const job = await this.call(async () => {
      // Written first on the same connection, so both travel together and a listing never misses the job.
      const indexed = indexJob(this.connection, prefix, {
        id,
        createdAt,
        summary: JSON.stringify(summary),
        taskIds: request.taskIds,
        personId: request.personId,
        scope: scopeOf(summary.projectIds),
        actionId: action.id,
      });
      const added = this.queue(spec.queue).add(action.kind, data, {
        jobId: id,
        timestamp: createdAt,
        ...spec.jobOptions,
        ...deduplication,
      });
      const [index, result] = await Promise.allSettled([indexed, added]);
      if (result.status === 'rejected') {
        // Not queued: its entry goes too (if that fails as well, the first listing that meets it drops it).
        await forgetIndexed(this.connection, prefix, id).catch(() => undefined);
        throw result.reason;
      }
      if (index.status === 'rejected') throw index.reason;
      return result.value;
    });
    const jobId = job.id ?? id;
    if (jobId !== id) {
      // A double click: the first job is the one; the entry written for this one goes.
      await this.call(() => forgetIndexed(this.connection, prefix, id));
    }
    return { id: jobId, deduplicated: jobId !== id };
  }

  /** The record of each job, in order; undefined for a job BullMQ does not hold (or not one of ours). */
  private async records(ids: readonly string[], withTasks: boolean): Promise<Array<JobRecord | undefined>> {
    const { prefix } = this.options;
    const rows = await this.read((redis) => readIndexed(redis, prefix, ids, withTasks));
    return Promise.all(
      rows.map(async (row): Promise<JobRecord | undefined> => {
        if (row === undefined) return undefined;
        const { id } = row;
        const summary = JobSummary.safeParse(parseJson(row.summary));
        const taskIds = withTasks && row.tasks ? row.tasks.split(',') : [];
        const base = summary.success ? { summary: summary.data, taskIds } : await this.backfill(id);
        if (base === undefined) return undefined;
        const { fields } = row;
        return {
          id,
          ...base,
          bullState: row.state,
          timestamp: integer(fields.timestamp) ?? 0,
          processedOn: integer(fields.processedOn),
          finishedOn: integer(fields.finishedOn),
          attemptsMade: integer(fields.atm) ?? 0,
          failedReason: fields.failedReason || undefined,
          progress: parseJson(fields.progress),
          result: parseJson(fields['ka:result']),
          report: ReportOutcome.safeParse(parseJson(fields['ka:report'])).data,
          cancelled: CancelOutcome.safeParse(parseJson(fields['ka:cancelled'])).data,
          // '' (none) is no request, as any text that is not one.
          cancel: parseCancelRequest(row.cancel),
        };
      }),
    );
  }

  /**
   * A job BullMQ holds without an index entry (queued before this version, or the entry's write was lost):
   * its data is read once and indexed (as open: the next sync files a finished one where it belongs).
   */
  private async backfill(id: string): Promise<{ summary: JobSummary; taskIds: string[] } | undefined> {
    const queueName = queueOfJobId(id);
    // Stryker disable next-line ConditionalExpression: equivalent, no queue is named "undefined", so the key read in its place holds nothing and the job is not found either way
    if (queueName === undefined) return undefined;
    const { prefix } = this.options;
    const key = bullJobKey(prefix, queueName, id);
    const [text, timestamp] = await this.read((redis) => redis.hmget(key, 'data', 'timestamp'));
    const data = JobData.safeParse(parseJson(text ?? null));
    if (!data.success) return undefined;
    const summary = summaryOf(data.data);
    const { taskIds } = data.data.request;
    await this.read((redis) =>
      indexJob(redis, prefix, {
        id,
        // Stryker disable next-line StringLiteral: equivalent, no field and any text not a number both read as none
        createdAt: integer(timestamp ?? '') ?? Date.now(),
        summary: JSON.stringify(summary),
        taskIds,
        personId: summary.personId,
        scope: scopeOf(summary.projectIds),
        actionId: summary.actionId,
      }),
    );
    return { summary, taskIds };
  }

  /** A job's status, from its index entry and BullMQ's small fields; undefined when there is no such job. */
  async status(id: string, links: JobLinks = relativeJobLinks): Promise<JobStatusView | undefined> {
    if (queueOfJobId(id) === undefined) return undefined;
    const [record] = await this.records([id], true);
    return record === undefined ? undefined : statusViewOf(record, links);
  }

  /** A job's result as its handler returned it (the page /jobs/:id/result serves). */
  async result(id: string): Promise<unknown> {
    const queueName = queueOfJobId(id);
    if (queueName === undefined) return undefined;
    const key = bullJobKey(this.options.prefix, queueName, id);
    return parseJson(await this.read((redis) => redis.hget(key, 'returnvalue')));
  }

  /** The whole BullMQ job and its status: for tools and tests (this reads the job's data). */
  async find(id: string): Promise<{ job: Job; view: JobStatusView } | undefined> {
    const queueName = queueOfJobId(id);
    if (!queueName) return undefined;
    const [job, view] = await Promise.all([
      this.read(() => Job.fromId(this.queue(queueName), id)),
      this.status(id),
    ]);
    return job && view ? { job, view } : undefined;
  }

  /**
   * Asks for a job to be cancelled: stored (a worker picking it up, or polling it, sees it) and published
   * (the worker running it aborts it now). A finished job is left alone and reported as such.
   */
  async cancel(
    id: string,
    who: { by: string; personId?: string | undefined },
    keepSeconds: number,
    links: JobLinks = relativeJobLinks,
  ): Promise<
    | { outcome: 'unknown' }
    | { outcome: 'finished'; view: JobStatusView }
    | { outcome: 'requested'; view: JobStatusView; request: CancelRequest }
  > {
    const found = await this.status(id, links);
    if (!found) return { outcome: 'unknown' };
    if (finalStates.has(found.state)) return { outcome: 'finished', view: found };
    const request: CancelRequest = {
      jobId: id,
      by: who.by,
      ...(who.personId === undefined ? {} : { personId: who.personId }),
      at: new Date().toISOString(),
      reason: cancelReason(who.by),
    };
    const { prefix } = this.options;
    // status() found the job, so its id names its queue.
    const key = bullJobKey(prefix, queueOfJobId(id) as QueueName, id);
    // One script: the stored request, the index's note of it, the dedup key dropped, the publish.
    const requested = await this.call(() =>
      cancelIndexed(this.connection, prefix, key, {
        id,
        request: JSON.stringify(request),
        keepSeconds,
        channel: cancelChannel(prefix),
      }),
    );
    // The job may have been removed or have ended since `found` was read.
    if (requested === 'gone') return { outcome: 'unknown' };
    const after = await this.status(id, links);
    if (requested === 'finished')
      return after ? { outcome: 'finished', view: after } : { outcome: 'unknown' };
    return { outcome: 'requested', view: after ?? found, request };
  }

  /** The scopes (production sets, see scopeOf) that jobs belong to. */
  async scopes(): Promise<string[]> {
    return this.read((redis) => indexedScopes(redis, this.options.prefix));
  }

  /** Jobs across queues, newest first: one page of those matching, and exactly how many match. */
  async list(
    filter: JobFilter,
    page: { offset: number; limit: number },
    links: JobLinks = relativeJobLinks,
  ): Promise<{ jobs: JobListEntry[]; total: number }> {
    const { prefix } = this.options;
    const { total, ids } = await this.read((redis) =>
      queryIndex(redis, prefix, QueueName.options, { ...filter, ...page }),
    );
    // Stryker disable next-line BooleanLiteral: equivalent, a listing's entries leave the task ids out (listEntryOf); false only spares reading them
    const records = await this.records(ids, false);
    const jobs: JobListEntry[] = [];
    for (const [index, id] of ids.entries()) {
      const record = records[index];
      if (record !== undefined) {
        jobs.push(listEntryOf(statusViewOf(record, links)));
        continue;
      }
      // Removed by hand (retention the index follows by itself): it leaves the index now. One being
      // queued this instant (its entry is written just before BullMQ's add) stays.
      await this.read((redis) => forgetIfGone(redis, prefix, id));
    }
    return { jobs, total };
  }

  async ping(): Promise<void> {
    await this.call(() => this.connection.ping());
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.queues.values()].map((queue) => queue.close()));
    this.queues.clear();
    this.reader.disconnect();
  }
}
