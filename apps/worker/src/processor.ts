import { UnrecoverableError, type Job } from 'bullmq';
import { JobData, JobProgress, jobKinds, type JobKind, type Logger } from '@kitsu-actions/shared';
import type { ZouClient } from '@kitsu-actions/zou';
import type { HandlerContext, HandlerMap } from './handlers/types.ts';
import { reportInKitsu, type JobEnd } from './report.ts';

export interface ProcessorDeps {
  handlers: HandlerMap;
  logger: Logger;
  publicUrl: string;
  zou?: ZouClient | undefined;
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
): Promise<unknown> {
  const handler = deps.handlers[kind];
  const result = await handler(context);
  const checked = jobKinds[kind].result.safeParse(result);
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
  return async (job: Job, _token?: string, signal?: AbortSignal): Promise<unknown> => {
    const parsed = JobData.safeParse(job.data);
    if (!parsed.success) {
      throw new UnrecoverableError(`Invalid job data: ${describe(parsed.error.issues)}`);
    }
    const data = parsed.data;
    const kind = data.action.kind;
    if (job.name !== kind) {
      throw new UnrecoverableError(`Job name "${job.name}" does not match its action kind "${kind}"`);
    }
    const options = jobKinds[kind].options.safeParse(data.action.options);
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
    log.info({ kind, attempt: job.attemptsMade + 1, tasks: data.request.taskIds.length }, 'job started');
    const context: HandlerContext<typeof kind> = {
      job,
      data,
      options: options.data,
      log,
      signal: signal ?? new AbortController().signal,
      publicUrl: deps.publicUrl,
      zou: deps.zou,
      progress: (percent, message) => job.updateProgress(JobProgress.parse({ percent, message })),
    };
    const settings = data.action.report;
    const report = async (end: JobEnd): Promise<void> => {
      if (settings === undefined) return;
      const outcome = await reportInKitsu({
        zou: deps.zou,
        settings,
        data,
        end,
        statusUrl: `${deps.publicUrl}/jobs/${job.id ?? ''}`,
        log,
      });
      // Kept with the job so the status page shows it; the job's own outcome is unchanged by it.
      await job.updateData({ ...data, report: outcome }).catch((error: unknown) => {
        log.warn(
          { err: error instanceof Error ? error.message : String(error), outcome },
          'report outcome not saved',
        );
      });
    };
    let result: unknown;
    try {
      result = await run(kind, context, deps);
    } catch (error) {
      // Only the last attempt reports: a failure BullMQ will retry is not the end of the job.
      const attempts = job.opts.attempts ?? 1;
      if (error instanceof UnrecoverableError || job.attemptsMade + 1 >= attempts) {
        await report({ state: 'failed', reason: error instanceof Error ? error.message : String(error) });
      }
      throw error;
    }
    await report({ state: 'completed', result });
    log.info('job completed');
    return result;
  };
}
