import { UnrecoverableError } from 'bullmq';
import { z } from 'zod';

/*
 * Cancelling a job, from the click to the status page; nothing else decides what a cancel is.
 *
 * - Requested: the receiver stores a CancelRequest under `cancelKey` (a worker that picks the job up
 *   later, or polls it while tracking, sees it) and publishes it on `cancelChannel` (the worker running the
 *   job aborts it at once, with `abortReasonOf(request)` as the signal's reason).
 * - Seen by the worker: `cancelOf(signal)` is the request a running job was aborted with; a handler that
 *   sees a cancel (or a farm-side one) ends the job by throwing `JobCancelled`.
 * - Shown: before the job fails, the worker records its `CancelOutcome` in the job's hash
 *   (`ka:` + `cancelledField`); the status view and the job index read a failed job as cancelled from that
 *   record. A job that ended before this record existed is read from its reason, in the two forms older
 *   versions wrote ("Cancelled by <who>…", "Cancelled on <farm>: …"), and only then.
 */

export const CancelRequest = z.object({
  jobId: z.string(),
  /** Who, as shown to people: an email, a person id, or "someone (AUTH_MODE=none)". */
  by: z.string(),
  personId: z.string().optional(),
  at: z.iso.datetime(),
  /** The failure reason the job ends with, e.g. "Cancelled by marc@studio". */
  reason: z.string(),
});
export type CancelRequest = z.infer<typeof CancelRequest>;

/** How a job ended cancelled: what the status page and the Kitsu comment say. */
export const CancelOutcome = z.object({
  /** The job's failure reason, e.g. "Cancelled by marc@studio before it started". */
  reason: z.string(),
  /** Who: a person (as CancelRequest.by names them), or the farm the job was cancelled on. */
  by: z.string().optional(),
  at: z.iso.datetime(),
});
export type CancelOutcome = z.infer<typeof CancelOutcome>;

/** The field (under `ka:`) of a job's hash holding its CancelOutcome. */
export const cancelledField = 'cancelled';

/** How cancel reasons start, for people ("Cancelled by marc@studio"); never read to decide a state. */
export const cancelReasonPrefix = 'Cancelled';

/** The reasons versions before the recorded outcome ended cancelled jobs with. */
const legacyReason = /^Cancelled (by |on [^:]+: )/;

/** A job ends cancelled by throwing this: never retried, recorded as cancelled, reported as such. */
export class JobCancelled extends UnrecoverableError {
  override name = 'JobCancelled';
  constructor(readonly outcome: CancelOutcome) {
    super(outcome.reason);
  }
}

export function cancelKey(prefix: string, jobId: string): string {
  return `${prefix}:kitsu-actions:cancel:${jobId}`;
}

export function cancelChannel(prefix: string): string {
  return `${prefix}:kitsu-actions:cancel`;
}

export function cancelReason(by: string): string {
  return `${cancelReasonPrefix} by ${by}`;
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

/** The reason a worker aborts a running job's signal with (BullMQ's worker.cancelJob takes a string). */
export function abortReasonOf(request: CancelRequest): string {
  return JSON.stringify(request);
}

/** The person's cancel a signal was aborted with; undefined when it is not aborted, or for another reason. */
export function cancelOf(signal: AbortSignal): CancelRequest | undefined {
  if (!signal.aborted) return undefined;
  const reason: unknown = signal.reason;
  return typeof reason === 'string' ? parseCancelRequest(reason) : undefined;
}

/** The outcome of a person's cancel; `reason` defaults to the request's. */
export function outcomeOfRequest(request: CancelRequest, reason = request.reason): CancelOutcome {
  return { reason, by: request.by, at: request.at };
}

/** Whether a failed job ended cancelled: its recorded outcome, else (ended before those) its reason. */
export function endedCancelled(job: {
  cancelled?: CancelOutcome | undefined;
  failedReason?: string | undefined;
}): boolean {
  return job.cancelled !== undefined || legacyReason.test(job.failedReason ?? '');
}

/**
 * The same test in the job index's Lua, over Lua expressions: `key` the job's hash, `reason` its
 * failedReason (or nil).
 */
export function endedCancelledLua(key: string, reason: string): string {
  const legacy = `(${reason} and (string.find(${reason}, '^Cancelled by ') or string.find(${reason}, '^Cancelled on [^:]+: ')))`;
  return `(rcall('HEXISTS', ${key}, 'ka:${cancelledField}') == 1 or ${legacy})`;
}
