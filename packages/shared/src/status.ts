import type { Job } from 'bullmq';
import { z } from 'zod';
import { JobData, JobProgress } from './jobs.ts';
import { StatusResult, resultFileTypes, type ResultFileFormat } from './kinds/define.ts';
import { JobKind, manifestOf } from './kinds/index.ts';
import type { CancelOutcome } from './cancel.ts';
import { endedCancelled } from './cancel.ts';
import { Link } from './link.ts';
import { ReportOutcome } from './report.ts';

/**
 * The five states a person sees, with the same names on the pages, in JSON and in `GET /jobs?state=`.
 * BullMQ's own names (waiting, delayed, prioritized ...) never leave this package.
 */
export const JobState = z.enum(['queued', 'active', 'completed', 'failed', 'cancelled']);
export type JobState = z.infer<typeof JobState>;

export const finalStates: ReadonlySet<JobState> = new Set(['completed', 'failed', 'cancelled']);

export { Link };

/**
 * What the receiver records about a job when it queues it, next to BullMQ's own fields: everything a
 * listing or a status page needs, so neither reads the job's data (the request, up to megabytes).
 */
export const JobSummary = z.object({
  actionId: z.string(),
  actionName: z.string(),
  kind: JobKind,
  personId: z.string(),
  email: z.string().optional(),
  projectId: z.string().optional(),
  /** The productions of the selected tasks (checked with Kitsu under zou-session); who may read the job. */
  projectIds: z.array(z.string()),
  taskCount: z.number().int().min(0),
  maxAttempts: z.number().int().min(1),
});
export type JobSummary = z.infer<typeof JobSummary>;

/** The productions a job belongs to: those Kitsu said the tasks are in, else the one the request named. */
export function projectIdsOf(request: JobData['request']): string[] {
  const ids = request.projectIds ?? (request.projectId === undefined ? [] : [request.projectId]);
  return [...new Set(ids)].sort();
}

export function summaryOf(data: JobData): JobSummary {
  const { request, action } = data;
  return {
    actionId: action.id,
    actionName: action.name,
    kind: action.kind,
    personId: request.personId,
    ...(request.personEmail ? { email: request.personEmail } : {}),
    ...(request.projectId ? { projectId: request.projectId } : {}),
    projectIds: projectIdsOf(request),
    taskCount: request.taskIds.length,
    maxAttempts: manifestOf(action.kind).jobOptions.attempts,
  };
}

/**
 * What a worker records of a result for the status view, as the kind's manifest describes it; undefined
 * when the result is not the kind's (the worker refuses those, so only a job from elsewhere).
 */
export function resultSummaryOf(kind: JobKind, result: unknown): StatusResult | undefined {
  const manifest = manifestOf(kind);
  const parsed = manifest.result.safeParse(result);
  return parsed.success ? manifest.describe.status(parsed.data) : undefined;
}

/** Whether a kind's results are pages (served at /jobs/:id/result). */
export function makesPages(kind: JobKind): boolean {
  return manifestOf(kind).describe.page !== undefined;
}

/** The public contract of GET /jobs/:id. */
export const JobStatusView = z.object({
  id: z.string(),
  actionId: z.string(),
  actionName: z.string(),
  kind: JobKind,
  state: JobState,
  progress: JobProgress,
  result: StatusResult.optional(),
  error: z.object({ message: z.string(), retryable: z.boolean() }).optional(),
  /** Attempts spent so far, the running one included. */
  attempts: z.number().int(),
  maxAttempts: z.number().int(),
  requestedBy: z.object({ personId: z.string(), email: z.string().optional() }),
  projectId: z.string().optional(),
  projectIds: z.array(z.string()),
  taskIds: z.array(z.string()),
  taskCount: z.number().int(),
  createdAt: z.iso.datetime(),
  startedAt: z.iso.datetime().optional(),
  finishedAt: z.iso.datetime().optional(),
  /** Absolute URLs (from PUBLIC_URL), carrying the job's capability under AUTH_MODE=token. */
  links: z.array(Link),
  /** The comment left in Kitsu when the job ended (actions with `report`). */
  report: ReportOutcome.optional(),
});
export type JobStatusView = z.infer<typeof JobStatusView>;

/** One job of GET /jobs: the status view without the task ids and the result (a listing stays small). */
export const JobListEntry = JobStatusView.omit({ taskIds: true, result: true });
export type JobListEntry = z.infer<typeof JobListEntry>;

/** Where BullMQ holds the job, folded: every kind of waiting (delayed, prioritized, paused) is queued. */
export type BullState = 'queued' | 'active' | 'completed' | 'failed';

/** BullMQ's state names, folded into the five a person needs. */
export function stateOf(
  bullState: string,
  job: { failedReason?: string | undefined; cancelled?: CancelOutcome | undefined },
): JobState {
  switch (bullState) {
    case 'active':
      return 'active';
    case 'completed':
      return 'completed';
    case 'failed':
      return endedCancelled(job) ? 'cancelled' : 'failed';
    default:
      return 'queued';
  }
}

/** Everything a status view is built from: the summary and BullMQ's small fields, never data or returnvalue. */
export interface JobRecord {
  id: string;
  summary: JobSummary;
  /** Only read for a single job's status (a selection may hold thousands of ids). */
  taskIds?: string[];
  bullState: BullState;
  timestamp: number;
  processedOn?: number | undefined;
  finishedOn?: number | undefined;
  attemptsMade: number;
  failedReason?: string | undefined;
  progress?: unknown;
  /** resultSummaryOf the handler's result, recorded by the worker. */
  result?: unknown;
  report?: ReportOutcome | undefined;
  /** How the job ended cancelled, as the worker recorded it (cancel.ts). */
  cancelled?: CancelOutcome | undefined;
  /** A cancel a person asked for (queues.ts reads it): a queued job shows as cancelled at once. */
  cancel?: { reason: string; by?: string } | undefined;
}

/** The URLs of a job's pages: absolute under the receiver's PUBLIC_URL, with what opens them. */
export interface JobLinks {
  href(jobId: string, page?: '' | '/result' | '/cancel' | `/result.${ResultFileFormat}`): string;
}

/** Root-relative links, for tools and tests that know no PUBLIC_URL. */
export const relativeJobLinks: JobLinks = {
  href: (jobId, page = '') => `/jobs/${encodeURIComponent(jobId)}${page}`,
};

/** Links under `publicUrl`, each carrying `query` of the job (a capability) when there is one. */
export function absoluteJobLinks(publicUrl: string, query?: (jobId: string) => string): JobLinks {
  return {
    href(jobId, page = '') {
      const extra = query === undefined ? '' : query(jobId);
      return `${publicUrl}/jobs/${encodeURIComponent(jobId)}${page}${extra === '' ? '' : `?${extra}`}`;
    },
  };
}

const iso = (millis: number | undefined): string | undefined =>
  millis === undefined || millis === 0 || !Number.isFinite(millis)
    ? undefined
    : new Date(millis).toISOString();

/**
 * The progress a person reads. A final state says how the job ended (never a handler's last word such as
 * "Cancelling the jobs…"); a queued job says what it waits for, even after an attempt that reported progress.
 */
function progressOf(
  record: JobRecord,
  state: JobState,
  reported: JobProgress | undefined,
  error: string | undefined,
): JobProgress {
  const percent = reported?.percent ?? (typeof record.progress === 'number' ? record.progress : 0);
  switch (state) {
    case 'completed': {
      const kept = StatusResult.safeParse(record.result);
      return { percent: 100, message: kept.success ? kept.data.summary : (reported?.message ?? 'Done') };
    }
    case 'failed':
    case 'cancelled':
      return { percent, message: error ?? '' };
    case 'active':
      if (record.cancel !== undefined) {
        const by = record.cancel.by === undefined ? '' : ` by ${record.cancel.by}`;
        return {
          percent,
          message: `Stopping: cancel asked${by}${reported ? ` (${reported.message})` : ''}`,
        };
      }
      return { percent, message: reported?.message ?? `Started (attempt ${attemptsOf(record)})` };
    case 'queued':
      return {
        percent,
        message: record.failedReason
          ? `Waiting to retry (attempt ${record.attemptsMade + 1} of ${record.summary.maxAttempts}) after: ${record.failedReason}`
          : 'Waiting for a worker',
      };
  }
}

/**
 * Attempts spent, the running one included: BullMQ counts `attemptsMade` only once an attempt ends. A job a
 * stopping worker handed back to the queue has spent none.
 */
function attemptsOf(record: JobRecord): number {
  return record.bullState === 'active' ? record.attemptsMade + 1 : record.attemptsMade;
}

/** Builds the public status of a job from what queues.ts read of it. */
export function statusViewOf(record: JobRecord, links: JobLinks = relativeJobLinks): JobStatusView {
  const { summary } = record;
  const pendingCancel = record.cancel !== undefined && record.bullState === 'queued';
  const state: JobState = pendingCancel ? 'cancelled' : stateOf(record.bullState, record);
  let error: string | undefined;
  if (state === 'failed' || state === 'cancelled') {
    error =
      (pendingCancel ? record.cancel?.reason : record.failedReason) || 'The job failed without a reason';
  }
  // BullMQ's progress is 0 until a handler reports one: only an object can be ours.
  const reported =
    typeof record.progress === 'object' && record.progress !== null
      ? JobProgress.safeParse(record.progress)
      : undefined;
  const viewLinks: Link[] = [{ label: 'Status', href: links.href(record.id) }];
  if (reported?.success === true) viewLinks.push(...(reported.data.links ?? []));
  let result: StatusResult | undefined;
  if (state === 'completed') {
    const kept = StatusResult.safeParse(record.result);
    if (makesPages(summary.kind)) {
      const href = links.href(record.id, '/result');
      const page = kept.success ? kept.data : { type: 'page', summary: '', links: [] };
      const title = page.title ?? 'Result';
      result = { ...page, title, href };
      viewLinks.push({ label: title, href });
    } else if (kept.success) {
      result = kept.data;
      // The result's own links (a launch's URLs), where progress did not show them already.
      const shown = new Set(viewLinks.map((link) => link.href));
      viewLinks.push(...kept.data.links.filter((link) => !shown.has(link.href)));
    }
    // The result's numbers as files, when the kind offers them (result.csv, result.json).
    const files = manifestOf(summary.kind).describe.files ?? {};
    for (const format of Object.keys(resultFileTypes) as ResultFileFormat[]) {
      if (files[format] !== undefined) {
        viewLinks.push({ label: format.toUpperCase(), href: links.href(record.id, `/result.${format}`) });
      }
    }
  }
  const view: JobStatusView = {
    id: record.id,
    actionId: summary.actionId,
    actionName: summary.actionName,
    kind: summary.kind,
    state,
    progress: progressOf(record, state, reported?.success === true ? reported.data : undefined, error),
    attempts: attemptsOf(record),
    maxAttempts: summary.maxAttempts,
    requestedBy: { personId: summary.personId, ...(summary.email ? { email: summary.email } : {}) },
    ...(summary.projectId ? { projectId: summary.projectId } : {}),
    projectIds: summary.projectIds,
    taskIds: record.taskIds ?? [],
    taskCount: summary.taskCount,
    createdAt: iso(record.timestamp) ?? new Date(0).toISOString(),
    links: viewLinks,
  };
  const startedAt = iso(record.processedOn);
  const finishedAt = iso(record.finishedOn);
  if (startedAt && state !== 'queued') view.startedAt = startedAt;
  if (finishedAt && finalStates.has(state) && !pendingCancel) view.finishedAt = finishedAt;
  if (result !== undefined) view.result = result;
  if (record.report !== undefined) view.report = record.report;
  if (error !== undefined) view.error = { message: error, retryable: false };
  return view;
}

/** The listing's form of a view. */
export function listEntryOf(view: JobStatusView): JobListEntry {
  const entry: Partial<JobStatusView> = { ...view };
  delete entry.taskIds;
  delete entry.result;
  return entry as JobListEntry;
}

/** The record of a BullMQ job read whole (tools, tests and jobs queued before summaries existed). */
export function recordOfJob(job: Job, bullState: string, cancel?: { reason: string }): JobRecord | undefined {
  const data = JobData.safeParse(job.data);
  if (!data.success || job.id === undefined) return undefined;
  const folded: BullState =
    bullState === 'active' || bullState === 'completed' || bullState === 'failed' ? bullState : 'queued';
  return {
    id: job.id,
    summary: summaryOf(data.data),
    taskIds: data.data.request.taskIds,
    bullState: folded,
    timestamp: job.timestamp,
    processedOn: job.processedOn,
    finishedOn: job.finishedOn,
    attemptsMade: job.attemptsMade,
    failedReason: job.failedReason,
    progress: job.progress,
    result: job.returnvalue === null ? undefined : resultSummaryOf(data.data.action.kind, job.returnvalue),
    report: data.data.report,
    cancel,
  };
}

/** Builds the public status of a BullMQ job read whole; `undefined` when its data is not ours. */
export function toStatusView(
  job: Job,
  bullState: string,
  cancel?: { reason: string },
  links: JobLinks = relativeJobLinks,
): JobStatusView | undefined {
  const record = recordOfJob(job, bullState, cancel);
  return record === undefined ? undefined : statusViewOf(record, links);
}
