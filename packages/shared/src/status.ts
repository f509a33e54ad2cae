import type { Job } from 'bullmq';
import { z } from 'zod';
import { JobData, JobKind, JobProgress, PageResult } from './jobs.ts';
import { Link } from './link.ts';
import { ReportOutcome } from './report.ts';

export const JobState = z.enum(['queued', 'active', 'completed', 'failed', 'cancelled']);
export type JobState = z.infer<typeof JobState>;

export const finalStates: ReadonlySet<JobState> = new Set(['completed', 'failed', 'cancelled']);

export { Link };

/** The public contract of GET /jobs/:id. */
export const JobStatusView = z.object({
  id: z.string(),
  actionId: z.string(),
  actionName: z.string(),
  kind: JobKind,
  state: JobState,
  progress: JobProgress,
  result: z.unknown().optional(),
  error: z.object({ message: z.string(), retryable: z.boolean() }).optional(),
  attempts: z.number().int(),
  requestedBy: z.object({ personId: z.string(), email: z.string().optional() }),
  projectId: z.string().optional(),
  taskIds: z.array(z.string()),
  createdAt: z.iso.datetime(),
  startedAt: z.iso.datetime().optional(),
  finishedAt: z.iso.datetime().optional(),
  links: z.array(Link),
  /** The comment left in Kitsu when the job ended (actions with `report`). */
  report: ReportOutcome.optional(),
});
export type JobStatusView = z.infer<typeof JobStatusView>;

/** BullMQ's state names, folded into the five a person needs. */
export function stateOf(bullState: string, job: Pick<Job, 'failedReason'>): JobState {
  switch (bullState) {
    case 'active':
      return 'active';
    case 'completed':
      return 'completed';
    case 'failed':
      return job.failedReason.startsWith(cancelledPrefix) ? 'cancelled' : 'failed';
    default:
      return 'queued';
  }
}

/** Failure reasons that start with this mark a job a person cancelled. */
export const cancelledPrefix = 'Cancelled';

const iso = (millis: number | undefined): string | undefined =>
  millis === undefined || millis === 0 ? undefined : new Date(millis).toISOString();

function progressOf(job: Job, state: JobState): JobProgress {
  const parsed = JobProgress.safeParse(job.progress);
  if (state === 'completed') {
    // A page says what it holds; other results keep the handler's last word.
    const page = PageResult.safeParse(job.returnvalue);
    return {
      percent: 100,
      message: page.success ? page.data.summary : parsed.success ? parsed.data.message : 'Done',
    };
  }
  if (parsed.success) return { percent: parsed.data.percent, message: parsed.data.message };
  if (state === 'queued') {
    return job.failedReason
      ? { percent: 0, message: `Waiting to retry after: ${job.failedReason}` }
      : { percent: 0, message: 'Waiting for a worker' };
  }
  return { percent: typeof job.progress === 'number' ? job.progress : 0, message: '' };
}

/** Builds the public status of a job; `undefined` when its data is not ours. */
export function toStatusView(
  job: Job,
  bullState: string,
  /** A cancel a person asked for (queues.ts reads it): a queued job shows as cancelled at once. */
  cancel?: { reason: string },
): JobStatusView | undefined {
  const data = JobData.safeParse(job.data);
  if (!data.success || job.id === undefined) return undefined;
  const { request, action, report } = data.data;
  const pendingCancel = cancel !== undefined && stateOf(bullState, job) === 'queued';
  const state = pendingCancel ? 'cancelled' : stateOf(bullState, job);
  const links: Link[] = [{ label: 'Status', href: `/jobs/${job.id}` }];
  const reported = JobProgress.safeParse(job.progress);
  if (reported.success) links.push(...(reported.data.links ?? []));
  let result: unknown = job.returnvalue ?? undefined;
  const page = PageResult.safeParse(result);
  if (state === 'completed' && page.success) {
    // The page itself is served at /jobs/:id/result; the JSON view carries its summary only.
    result = {
      type: 'page',
      title: page.data.title,
      summary: page.data.summary,
      href: `/jobs/${job.id}/result`,
    };
    links.push({ label: page.data.title, href: `/jobs/${job.id}/result` });
  }
  const view: JobStatusView = {
    id: job.id,
    actionId: action.id,
    actionName: action.name,
    kind: action.kind,
    state,
    progress: progressOf(job, state),
    attempts: job.attemptsMade,
    requestedBy: {
      personId: request.personId,
      ...(request.personEmail ? { email: request.personEmail } : {}),
    },
    ...(request.projectId ? { projectId: request.projectId } : {}),
    taskIds: request.taskIds,
    createdAt: iso(job.timestamp) ?? new Date(0).toISOString(),
    links,
  };
  const startedAt = iso(job.processedOn);
  const finishedAt = iso(job.finishedOn);
  if (startedAt && state !== 'queued') view.startedAt = startedAt;
  if (finishedAt && (state === 'completed' || state === 'failed' || state === 'cancelled'))
    view.finishedAt = finishedAt;
  if (state === 'completed' && result !== undefined) view.result = result;
  if (report !== undefined) view.report = report;
  if (state === 'failed' || state === 'cancelled') {
    const message = pendingCancel ? cancel.reason : job.failedReason;
    view.error = { message: message || 'The job failed without a reason', retryable: false };
  }
  return view;
}
