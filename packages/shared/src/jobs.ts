import { z } from 'zod';
import { JobKind } from './kinds/index.ts';
import { VerifiedRequest } from './kitsu-request.ts';
import { Link } from './link.ts';
import { ReportOutcome, ReportSettings } from './report.ts';

/**
 * The request as it reached the receiver, for pages that show it; credentials are never kept, and a copy
 * larger than RAW_REQUEST_LIMIT is cut (`cut` says what was left out, in words a page can show).
 */
export const RawRequest = z.object({
  method: z.string(),
  url: z.string(),
  headers: z.record(z.string(), z.string()),
  contentType: z.string().optional(),
  body: z.string(),
  fields: z.record(z.string(), z.unknown()),
  cut: z.array(z.string()).optional(),
});
export type RawRequest = z.infer<typeof RawRequest>;

/** The catalogue entry as it was when the person clicked: what they saw is what runs. */
export const ActionSnapshot = z.object({
  id: z.string(),
  name: z.string(),
  kind: JobKind,
  entityType: z.string(),
  ajax: z.boolean(),
  options: z.unknown(),
  report: ReportSettings.optional(),
});
export type ActionSnapshot = z.infer<typeof ActionSnapshot>;

export const JobData = z.object({
  request: VerifiedRequest,
  action: ActionSnapshot,
  raw: RawRequest.optional(),
  /** Written by the worker once it has reported the outcome in Kitsu (or failed to). */
  report: ReportOutcome.optional(),
});
export type JobData = z.infer<typeof JobData>;

/** What a handler reports through job.updateProgress. */
export const JobProgress = z.object({
  percent: z.number().min(0).max(100),
  message: z.string(),
  /** Shown on the status page while the job runs and after it ends (e.g. each farm job's own page). */
  links: z.array(Link).optional(),
});
export type JobProgress = z.infer<typeof JobProgress>;
