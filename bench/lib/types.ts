import type { Host, HostEnv } from './hosts.ts';
import type { HostRole } from './messages.ts';

/** What a figure is judged on: its ratio (ours / baseline) against a target. */
export interface Goal {
  op: '>=' | '<=';
  target: number;
}

/** One check that must hold besides the goal (e.g. every accepted action completed). */
export interface Check {
  name: string;
  ok: boolean;
}

export interface Measured {
  status: 'measured';
  /** Our side. */
  value: number;
  /** The same quantity for the baseline, measured in the same run. */
  baseline: number;
  unit: string;
  /** value / baseline. */
  ratio: number;
  checks: Check[];
  /** One short line for the table (latencies, counts). */
  notes: string;
  /** Everything else worth keeping in results.json. */
  details: Record<string, unknown>;
}

export interface Skipped {
  status: 'skipped';
  reason: string;
}

export type Outcome = Measured | Skipped;

export interface Settings {
  /** autocannon connections for the throughput figures (ack, form, enqueue, status). */
  connections: number;
  /** Measured seconds per side, split into `slices` alternating runs (baseline, ours, baseline, …). */
  durationS: number;
  warmupS: number;
  slices: number;
  pickupJobs: number;
  pickupWarmupJobs: number;
  workerJobs: number;
  /** Alternating rounds of the worker figure (ours, ours with a no-op handler, raw), each of workerJobs. */
  workerRounds: number;
  workerConcurrency: number;
  burstJobs: number;
  burstConnections: number;
  /** render-tracking: render jobs held active at once (one shot each), and the measured window. */
  renderJobs: number;
  renderWindowS: number;
  /** render-tracking: seconds between "every job is tracking" and the window (0: the first minute). */
  renderSettleS: number;
}

export interface FigureContext {
  redisUrl: string;
  settings: Settings;
  /** A fresh `{bench-<random>}` queue prefix; its keys are removed when the figure ends. */
  newPrefix(): string;
  /** Runs when the figure ends, failed or not, last registered first. */
  defer(cleanup: () => Promise<void> | void): void;
  /** A child process running one of bench/lib/host.ts's roles; stopped when the figure ends. */
  spawnHost(role: HostRole, env: HostEnv): Promise<Host>;
  /** Progress on stderr (stdout carries the table only). */
  log(message: string): void;
}

export interface Figure {
  id: string;
  title: string;
  /** Human-readable goal, as printed in the table. */
  goalText: string;
  /** Absent for figures judged by their checks only. */
  goal?: Goal;
  run(ctx: FigureContext): Promise<Outcome>;
}
