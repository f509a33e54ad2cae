import { createHash, randomUUID } from 'node:crypto';
import { Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { cancelChannel, cancelKey, cancelReason, parseCancelRequest, type CancelRequest } from './cancel.ts';
import type { CatalogueAction } from './catalogue.ts';
import type { ActionRequest } from './kitsu-request.ts';
import { jobKinds, QueueName, type JobData, type RawRequest } from './jobs.ts';
import { finalStates, toStatusView, type JobState, type JobStatusView } from './status.ts';

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

async function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export interface EnqueueResult {
  id: string;
  /** True when the same person ran the same action on the same selection within the dedup window. */
  deduplicated: boolean;
}

export interface JobFilter {
  personId?: string;
  actionId?: string;
  state?: JobState;
}

const queuedStates = ['waiting', 'prioritized', 'delayed', 'waiting-children'] as const;
type BullState = (typeof queuedStates)[number] | 'active' | 'completed' | 'failed';

function bullStatesFor(state: JobState | undefined): readonly BullState[] {
  switch (state) {
    case undefined:
      return ['active', ...queuedStates, 'completed', 'failed'];
    case 'queued':
      return queuedStates;
    case 'active':
    case 'completed':
      return [state];
    case 'failed':
      return ['failed'];
    case 'cancelled':
      // A queued job can be cancelled before a worker has ended it.
      return ['failed', ...queuedStates];
  }
}

/** Job ids carry their queue (`pages-<uuid>`), so a status lookup needs no index. */
export function queueOfJobId(id: string): QueueName | undefined {
  const parsed = QueueName.safeParse(id.slice(0, id.indexOf('-')));
  return parsed.success ? parsed.data : undefined;
}

/** The data of the job a request makes: the catalogue entry as it was at the click, and what was asked. */
export function jobDataOf(action: CatalogueAction, request: ActionRequest, raw?: RawRequest): JobData {
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
function dedupKey(actionId: string, request: ActionRequest): string {
  const parts = [request.personId, actionId, request.projectId ?? '', ...[...request.taskIds].sort()];
  return createHash('sha256').update(parts.join('\n')).digest('hex');
}

/** The producer side of BullMQ: the one place the receiver touches queues. */
export class JobQueues {
  private readonly queues = new Map<QueueName, Queue>();

  constructor(
    private readonly connection: Redis,
    private readonly options: { prefix: string; timeoutMs: number; dedupWindowMs: number },
  ) {}

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
      throw new QueueUnavailableError(error);
    }
  }

  async enqueue(action: CatalogueAction, request: ActionRequest, raw?: RawRequest): Promise<EnqueueResult> {
    const spec = jobKinds[action.kind];
    const id = `${spec.queue}-${randomUUID()}`;
    const data = jobDataOf(action, request, raw);
    const window = this.options.dedupWindowMs;
    const deduplication =
      window > 0 ? { deduplication: { id: dedupKey(action.id, request), ttl: window } } : {};
    const job = await this.call(() =>
      this.queue(spec.queue).add(action.kind, data, { jobId: id, ...spec.jobOptions, ...deduplication }),
    );
    const jobId = job.id ?? id;
    return { id: jobId, deduplicated: jobId !== id };
  }

  async find(id: string): Promise<{ job: Job; view: JobStatusView } | undefined> {
    const queueName = queueOfJobId(id);
    if (!queueName) return undefined;
    return this.call(async () => {
      const queue = this.queue(queueName);
      // The commands go out at once: one round trip. A cancel request only matters for a queued job,
      // which shows as cancelled before a worker has picked it up to end it.
      const [job, state, cancel] = await Promise.all([
        Job.fromId(queue, id),
        queue.getJobState(id),
        this.connection.get(cancelKey(this.options.prefix, id)),
      ]);
      if (!job) return undefined;
      const view = toStatusView(job, state, parseCancelRequest(cancel));
      return view ? { job, view } : undefined;
    });
  }

  /**
   * Asks for a job to be cancelled: stored (a worker picking it up, or polling it, sees it) and published
   * (the worker running it aborts it now). A finished job is left alone and reported as such.
   */
  async cancel(
    id: string,
    who: { by: string; personId?: string | undefined },
    keepSeconds: number,
  ): Promise<
    | { outcome: 'unknown' }
    | { outcome: 'finished'; view: JobStatusView }
    | { outcome: 'requested'; view: JobStatusView; request: CancelRequest }
  > {
    const found = await this.find(id);
    if (!found) return { outcome: 'unknown' };
    if (finalStates.has(found.view.state)) return { outcome: 'finished', view: found.view };
    const request: CancelRequest = {
      jobId: id,
      by: who.by,
      ...(who.personId === undefined ? {} : { personId: who.personId }),
      at: new Date().toISOString(),
      reason: cancelReason(who.by),
    };
    const text = JSON.stringify(request);
    await this.call(async () => {
      // NX: the first person to cancel is the one the job names.
      await this.connection.set(cancelKey(this.options.prefix, id), text, 'EX', keepSeconds, 'NX');
      await this.connection.publish(cancelChannel(this.options.prefix), text);
      // A click after a cancel is a new request, not a double click on the cancelled one.
      await found.job.removeDeduplicationKey();
    });
    const after = await this.find(id);
    return { outcome: 'requested', view: after?.view ?? found.view, request };
  }

  /** Recent jobs across queues, newest first. Scans at most `scanLimit` jobs per queue and state. */
  async list(
    filter: JobFilter,
    page: { offset: number; limit: number },
    scanLimit = 1000,
  ): Promise<{ jobs: JobStatusView[]; total: number }> {
    return this.call(async () => {
      const views: JobStatusView[] = [];
      for (const queueName of QueueName.options) {
        const queue = this.queue(queueName);
        for (const bullState of bullStatesFor(filter.state)) {
          const jobs = await queue.getJobs([bullState], 0, scanLimit - 1, false);
          // Queued jobs a person cancelled show as cancelled (one MGET for the batch).
          const cancels =
            (queuedStates as readonly string[]).includes(bullState) && jobs.length > 0
              ? await this.connection.mget(jobs.map((job) => cancelKey(this.options.prefix, job.id ?? '')))
              : [];
          for (const [index, job] of jobs.entries()) {
            const view = toStatusView(job, bullState, parseCancelRequest(cancels[index]));
            if (!view) continue;
            if (filter.state && view.state !== filter.state) continue;
            if (filter.personId && view.requestedBy.personId !== filter.personId) continue;
            if (filter.actionId && view.actionId !== filter.actionId) continue;
            views.push(view);
          }
        }
      }
      views.sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id));
      return { jobs: views.slice(page.offset, page.offset + page.limit), total: views.length };
    });
  }

  async ping(): Promise<void> {
    await this.call(() => this.connection.ping());
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.queues.values()].map((queue) => queue.close()));
    this.queues.clear();
  }
}
