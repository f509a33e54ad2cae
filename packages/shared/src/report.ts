import { z } from 'zod';

/**
 * `report` of a catalogue action: what kitsu-actions leaves in Kitsu when a job ends. Comments go on the
 * selected tasks, one comment-many call per project, with a link to the job's status page.
 */
export const ReportSettings = z.strictObject({
  /** Comment on each selected task when the job completes, finally fails or is cancelled. */
  comment: z.boolean().default(true),
  /** Task status (short name, e.g. `wfa`) set with the comment when the job completes. */
  statusOnSuccess: z.string().trim().min(1).optional(),
  /** Task status (short name, e.g. `retake`) set with the comment when the job finally fails. */
  statusOnFailure: z.string().trim().min(1).optional(),
  /** Task status (short name, e.g. `todo`) set when a person cancels the job; absent: left as it is. */
  statusOnCancel: z.string().trim().min(1).optional(),
});
export type ReportSettings = z.infer<typeof ReportSettings>;

/** What became of the report, kept with the job and shown on its status page. Never fails the job. */
export const ReportOutcome = z.object({
  state: z.enum(['posted', 'partial', 'failed', 'skipped']),
  message: z.string(),
  /** Tasks that received the comment. */
  commented: z.number().int().min(0),
  at: z.iso.datetime(),
});
export type ReportOutcome = z.infer<typeof ReportOutcome>;
