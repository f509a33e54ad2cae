import { UnrecoverableError, WaitingError, type Job } from 'bullmq';
import {
  JobCancelled,
  absoluteJobLinks,
  cancelOf,
  cancelledField,
  outcomeOfRequest,
  type CancelOutcome,
  capabilityParam,
  JobData,
  JobProgress,
  jobKinds,
  kindSchemas,
  queuePolicies,
  resultSummaryOf,
  type JobCapabilities,
  type JobKind,
  type KindResult,
  type Logger,
} from '@kitsu-actions/shared';
import type { ZouClient } from '@kitsu-actions/zou';
import { handBackReason } from './cancel.ts';
import type { FarmRuntime } from './farms/index.ts';
import { isKindJob, type Handler, type HandlerContext, type HandlerMap } from './handlers/types.ts';
import type { ProcessorJobStore } from './job-store.ts';
import { reportInKitsu, type JobEnd } from './report.ts';

export interface ProcessorDeps {
  handlers: HandlerMap;
  logger: Logger;
  publicUrl: string;
  /** AUTH_MODE=token: the status link left in Kitsu carries the job's capability, so it opens. */
  capabilities?: JobCapabilities | undefined;
  zou?: ZouClient | undefined;
  farms: FarmRuntime;
  /** The store of one job (job-store.ts). */
  store: (jobId: string) => ProcessorJobStore;
  /** Aborted (with handBackReason) when the worker stops: render jobs then go back to the queue. */
  stopping?: AbortSignal;
  /** RESULT_PAGE_LIMIT, for handlers that return a page. */
  resultPageBytes: number;
}

function describe(issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>): string {
  return issues
    .map((issue) => `${issue.path.map(String).join('.') || '(data)'}: ${issue.message}`)
    .join('; ');
}

async function run<K extends JobKind>(
  kind: K,
  context: HandlerContext<K>,
  deps: ProcessorDeps,
): Promise<KindResult<K>> {
  const handler: Handler<K> = deps.handlers[kind];
  const result = await handler(context);
  const checked = kindSchemas[kind].result.safeParse(result);
  if (!checked.success) {
    // A handler returning the wrong shape is a bug: retrying cannot fix it.
    throw new UnrecoverableError(
      `The ${kind} handler returned an invalid result: ${describe(checked.error.issues)}`,
    );
  }
  return checked.data;
}

/** The BullMQ processor for every queue: re-validates the job, then runs the kind's handler. */
export function createProcessor(deps: ProcessorDeps) {
  const { capabilities } = deps;
  const links = absoluteJobLinks(
    deps.publicUrl,
    capabilities === undefined ? undefined : (jobId) => `${capabilityParam}=${capabilities.of(jobId)}`,
  );
  return async (job: Job<unknown, unknown, string>, token?: string, signal?: AbortSignal) => {
    const parsed = JobData.safeParse(job.data);
    if (!parsed.success) {
      throw new UnrecoverableError(`Invalid job data: ${describe(parsed.error.issues)}`);
    }
    return processKind(parsed.data.action.kind, job, parsed.data, token, signal);
  };

  async function processKind<K extends JobKind>(
    kind: K,
    job: Job<unknown, unknown, string>,
    data: JobData,
    token: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<KindResult<K>> {
    if (!isKindJob(job, kind)) {
      throw new UnrecoverableError(`Job name "${job.name}" does not match its action kind "${kind}"`);
    }
    const options = kindSchemas[kind].options.safeParse(data.action.options);
    if (!options.success) {
      throw new UnrecoverableError(
        `Invalid options for action "${data.action.id}": ${describe(options.error.issues)}`,
      );
    }
    const log = deps.logger.child({
      jobId: job.id,
      actionId: data.action.id,
      personId: data.request.personId,
    });
    // Stryker disable next-line StringLiteral: equivalent, a job a BullMQ worker runs always has an id
    const jobId = job.id ?? '';
    const store = deps.store(jobId);
    /** Ends the job cancelled: the outcome is recorded first, so the status view reads it as such. */
    const endCancelled = async (outcome: CancelOutcome): Promise<never> => {
      await store.recordForStatus({ [cancelledField]: outcome }).catch((error: unknown) => {
        // The reason still starts with the word a status view falls back on.
        log.warn({ err: error }, 'cancel outcome not saved');
      });
      throw new JobCancelled(outcome);
    };
    // Cancelled while it waited: it ends here without running (and without a report: nothing was done).
    const cancelled = await store.cancelRequest();
    if (cancelled !== undefined) {
      log.info({ by: cancelled.by }, 'job cancelled before it started');
      return endCancelled(outcomeOfRequest(cancelled, `${cancelled.reason} before it started`));
    }
    // One info line per job, at its end; the start is for debugging.
    const startedAt = performance.now();
    log.debug({ kind, attempt: job.attemptsMade + 1, tasks: data.request.taskIds.length }, 'job started');
    const own = signal ?? new AbortController().signal;
    // Long jobs (render tracking) are handed back by a stopping worker instead of waited for.
    const stopping = queuePolicies[jobKinds[kind].queue].handBackOnStop ? deps.stopping : undefined;
    const abort = stopping === undefined ? own : AbortSignal.any([own, stopping]);
    // moveToWait gives up the job's lock with the token a worker always passes.
    if (stopping?.aborted === true) {
      // Picked up while the worker stops (a fetch already under way): straight back to the queue.
      await job.moveToWait(token);
      throw new WaitingError();
    }
    const context: HandlerContext<K> = {
      job,
      data,
      options: options.data,
      log,
      signal: abort,
      publicUrl: deps.publicUrl,
      links,
      zou: deps.zou,
      // No links: `links` undefined, which the stored JSON leaves out.
      progress: (percent, message, links) =>
        job.updateProgress(JobProgress.parse({ percent, message, links })),
      farms: deps.farms,
      store,
      resultPageBytes: deps.resultPageBytes,
    };
    const settings = data.action.report;
    const report = async (end: JobEnd): Promise<void> => {
      if (settings === undefined) return;
      const outcome = await reportInKitsu({
        zou: deps.zou,
        settings,
        data,
        end,
        statusUrl: links.href(jobId),
        log,
      });
      // Kept with the job so the status page shows it; the job's own outcome is unchanged by it.
      // job.data, not `data`: the handler may have updated it since.
      await Promise.all([
        job.updateData({ ...job.data, report: outcome }),
        store.recordForStatus({ report: outcome }),
      ]).catch((error: unknown) => {
        log.warn({ err: error, outcome }, 'report outcome not saved');
      });
    };
    let result: KindResult<K>;
    try {
      try {
        result = await run(kind, context, deps);
      } catch (error) {
        if (abort.aborted && abort.reason === handBackReason) {
          // The worker is stopping: back to the queue, no attempt spent, nothing reported.
          log.info('worker stopping: job handed back to the queue');
          await job.moveToWait(token);
          throw new WaitingError();
        }
        if (error instanceof JobCancelled) return await endCancelled(error.outcome);
        // A person cancelled it: whatever the handler threw on the way out (but a failure of its own), it
        // ends as cancelled.
        const request = cancelOf(abort);
        if (request === undefined || error instanceof UnrecoverableError) throw error;
        return await endCancelled(outcomeOfRequest(request));
      }
    } catch (error) {
      if (error instanceof WaitingError) throw error;
      // Only the last attempt reports: a failure BullMQ will retry is not the end of the job.
      const attempts = job.opts.attempts ?? 1;
      const reason = error instanceof Error ? error.message : String(error);
      if (error instanceof JobCancelled) await report({ state: 'cancelled', reason });
      else if (error instanceof UnrecoverableError || job.attemptsMade + 1 >= attempts) {
        await report({ state: 'failed', reason });
      }
      throw error;
    }
    await report({ state: 'completed', result });
    // Status pages and listings read this, never the result itself (a page may be megabytes).
    await store.recordForStatus({ result: resultSummaryOf(kind, result) }).catch((error: unknown) => {
      log.warn({ err: error }, 'result summary not saved');
    });
    log.info(
      {
        kind,
        attempt: job.attemptsMade + 1,
        tasks: data.request.taskIds.length,
        ms: Math.round(performance.now() - startedAt),
      },
      'job completed',
    );
    return result;
  }
}
