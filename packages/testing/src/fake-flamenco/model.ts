// Rows of the fake Flamenco Manager, with Flamenco 3's own field names (what its OpenAPI `Job`, `Task` and
// `JobStatus` schemas emit), so an adapter can be written against them as against the real Manager.

export const JOB_STATUSES = [
  'active',
  'canceled',
  'completed',
  'failed',
  'paused',
  'pause-requested',
  'queued',
  'cancel-requested',
  'requeueing',
  'under-construction',
] as const;
export type FlamencoJobStatus = (typeof JOB_STATUSES)[number];

export type FlamencoTaskStatus =
  'active' | 'canceled' | 'completed' | 'failed' | 'paused' | 'queued' | 'soft-failed';

export const PLATFORMS = ['linux', 'windows', 'darwin'] as const;

export interface FakeFlamencoTask {
  id: string;
  name: string;
  status: FlamencoTaskStatus;
  priority: number;
  task_type: string;
  index_in_job: number;
  /** Frames this task renders, e.g. `1-10`. */
  frames: string;
  activity: string;
  created: string;
  updated: string;
  /** Simulated time at which the running task finishes; null when not running. */
  finishesAt: number | null;
}

/** A stored job: the submitted fields plus what the Manager adds. `toJson` in server.ts is its wire shape. */
export interface FakeFlamencoJob {
  id: string;
  name: string;
  type: string;
  priority: number;
  submitter_platform: string;
  settings: Record<string, unknown>;
  metadata: Record<string, string>;
  type_etag?: string;
  worker_tag?: string;
  status: FlamencoJobStatus;
  activity: string;
  created: string;
  updated: string;
  tasks: FakeFlamencoTask[];
  /** Simulated time of the last status change. */
  statusSince: number;
}

/** One accepted `POST /api/v3/jobs`: tests assert on these to prove exactly-once submission. */
export interface FlamencoSubmission {
  jobId: string;
  /** The body exactly as it was received (parsed JSON). */
  body: Record<string, unknown>;
  /** Simulated time of the submission. */
  at: number;
}

export interface FlamencoRequestLogEntry {
  method: string;
  /** Path as received, without the query string. */
  path: string;
  status: number;
  /** Parsed JSON body, when one was sent. */
  body: unknown;
  /** True when the answer came from `control.failNext`, `control.busy`. */
  injected: boolean;
}

export interface FakeFlamencoJobType {
  name: string;
  label: string;
  etag: string;
}

/** Everything the fake holds. Tests read it directly. */
export interface FakeFlamencoState {
  jobs: Map<string, FakeFlamencoJob>;
  submissions: FlamencoSubmission[];
  requests: FlamencoRequestLogEntry[];
  jobTypes: Map<string, FakeFlamencoJobType>;
  /** The simulated clock (ms since the epoch); moves with `control.advance` or `tickMs`. */
  now: number;
}
