/** The IPC protocol between bench/run.ts and the processes running bench/lib/host.ts. */

export type HostRole = 'receiver' | 'bare' | 'worker' | 'worker-noop' | 'raw-worker' | 'raw-hold';

export type ParentMessage =
  /** Close gracefully, then exit (so a --cpu-prof profile gets written). */
  | { type: 'stop' }
  /** Worker roles: answer `reached` once this many jobs have finished since the worker started. */
  | { type: 'watch'; target: number }
  /** Answer `usage` with the process's CPU time so far (process.cpuUsage(), all threads). */
  | { type: 'usage' };

export type ChildMessage =
  /** `port` is the HTTP port for the server roles, 0 for workers. */
  | { type: 'ready'; port: number }
  | { type: 'reached'; completed: number; failed: number; firstFailure: string | null }
  | { type: 'usage'; userUs: number; systemUs: number }
  | { type: 'fatal'; message: string };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

export function isParentMessage(value: unknown): value is ParentMessage {
  if (!isObject(value)) return false;
  return (
    value['type'] === 'stop' ||
    value['type'] === 'usage' ||
    (value['type'] === 'watch' && typeof value['target'] === 'number')
  );
}

export function isChildMessage(value: unknown): value is ChildMessage {
  if (!isObject(value)) return false;
  switch (value['type']) {
    case 'ready':
      return typeof value['port'] === 'number';
    case 'reached':
      return typeof value['completed'] === 'number' && typeof value['failed'] === 'number';
    case 'usage':
      return typeof value['userUs'] === 'number' && typeof value['systemUs'] === 'number';
    case 'fatal':
      return typeof value['message'] === 'string';
    default:
      return false;
  }
}
