/**
 * Why a stopping worker aborts its render jobs: they go back to the queue at once (another worker, or this
 * one restarted, picks them up and finds their farm jobs again) instead of holding the stop for hours.
 * Not a cancel (a person's cancel is packages/shared's cancel.ts): the job is neither ended nor reported.
 */
export const handBackReason = 'The worker is stopping: the job goes back to the queue';
