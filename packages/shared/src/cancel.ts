import { z } from 'zod';
import { cancelledPrefix } from './status.ts';

/**
 * A person's request to cancel a job. The receiver stores it under `cancelKey` (so a worker that picks
 * the job up later, or polls while tracking, sees it) and publishes it on `cancelChannel` (so the worker
 * running the job aborts it at once).
 */
export const CancelRequest = z.object({
  jobId: z.string(),
  /** Who, as shown to people: an email, a person id, or "someone (AUTH_MODE=none)". */
  by: z.string(),
  personId: z.string().optional(),
  at: z.iso.datetime(),
  /** The failure reason the job ends with; starts with `Cancelled`. */
  reason: z.string().startsWith(cancelledPrefix),
});
export type CancelRequest = z.infer<typeof CancelRequest>;

export function cancelKey(prefix: string, jobId: string): string {
  return `${prefix}:kitsu-actions:cancel:${jobId}`;
}

export function cancelChannel(prefix: string): string {
  return `${prefix}:kitsu-actions:cancel`;
}

export function cancelReason(by: string): string {
  return `${cancelledPrefix} by ${by}`;
}

/** A stored or published cancel request; undefined when the text is not one. */
export function parseCancelRequest(text: string | null | undefined): CancelRequest | undefined {
  if (text === null || text === undefined) return undefined;
  try {
    const parsed = CancelRequest.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    // Not JSON: not a request of ours.
    return undefined;
  }
}
