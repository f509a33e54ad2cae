// State of the fake afserver. Field names follow afserver's JSON (`frame_first`, `p_percentage`...), so a
// client can be written against the fake as against the real server.

export type AfanasyTaskState = 'RDY' | 'RUN' | 'DON' | 'ERR';

export interface FakeAfanasyTask {
  state: AfanasyTaskState;
  /** Simulated time at which the running task finishes; null when not running. */
  finishesAt: number | null;
  /** How many times the task was started. */
  starts: number;
  errors: number;
}

export interface FakeAfanasyBlock {
  name: string;
  service: string;
  parser: string;
  flags: number;
  numeric: boolean;
  capacity: number;
  frame_first: number;
  frame_last: number;
  frames_per_task: number;
  frames_inc: number;
  command: string;
  working_directory: string;
  files: string;
  tasks: FakeAfanasyTask[];
}

export interface FakeAfanasyJob {
  id: number;
  serial: number;
  /** The name as stored: a duplicate gets a `-<n>` suffix. */
  name: string;
  user_name: string;
  host_name: string;
  priority: number;
  branch: string;
  custom_data: string;
  /** Seconds since the epoch, like afserver. */
  time_creation: number;
  time_started: number;
  time_done: number;
  /** Paused or stopped: no new task starts. */
  offline: boolean;
  blocks: FakeAfanasyBlock[];
  /** Simulated time at which the next ready task starts (when none is running); null: not scheduled. */
  nextStartAt: number | null;
}

/** One accepted `{"job": ...}` message: tests assert on these to prove exactly-once submission. */
export interface AfanasySubmission {
  id: number;
  serial: number;
  /** The `job` object exactly as it was received. */
  job: Record<string, unknown>;
  /** Simulated time of the submission. */
  at: number;
}

export type AfanasyFraming = 'raw' | 'http';

export interface AfanasyRequestLogEntry {
  framing: AfanasyFraming;
  /** Parsed message, or the raw text when it was not JSON. */
  message: unknown;
  kind: 'job' | 'get' | 'action' | 'invalid';
  /** `full`: the whole answer was written; `dropped`: cut by `control.dropNext`. */
  answer: 'full' | 'dropped';
}

export interface FakeAfanasyState {
  /** Jobs by id (ids are reused after deletion, serials never). */
  jobs: Map<number, FakeAfanasyJob>;
  submissions: AfanasySubmission[];
  requests: AfanasyRequestLogEntry[];
  /** The simulated clock (ms since the epoch); moves with `control.advance` or `tickMs`. */
  now: number;
  /** The next serial to hand out. */
  nextSerial: number;
}
