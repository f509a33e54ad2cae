import { cancelledPrefix } from '@kitsu-actions/shared';

/** The reason a person's cancel aborted the handler with (worker.cancelJob), if that is why it stopped. */
export function cancelReasonOf(signal: AbortSignal): string | undefined {
  if (!signal.aborted) return undefined;
  const reason: unknown = signal.reason;
  return typeof reason === 'string' && reason.startsWith(cancelledPrefix) ? reason : undefined;
}

/**
 * Why a stopping worker aborts its render jobs: they go back to the queue at once (another worker, or this
 * one restarted, picks them up and finds their farm jobs again) instead of holding the stop for hours.
 */
export const handBackReason = 'The worker is stopping: the job goes back to the queue';
