import { z } from 'zod';
import type { FarmKind } from '../farm-vocabulary.ts';
import { Link } from '../link.ts';

/** One queue per kind family, so a flood of one family never starves another. */
export const QueueName = z.enum(['pages', 'reports', 'render']);
export type QueueName = z.infer<typeof QueueName>;

/** How a queue's workers behave; workers and the processor read this table, never a queue's name. */
export interface QueuePolicy {
  /** How many times a job may lose its worker (killed, or stopped while it ran) and be picked up again. */
  maxStalls: number;
  /** A stopping worker hands the queue's running jobs back instead of waiting for them to end. */
  handBackOnStop: boolean;
  /** Jobs each worker process runs at once on this queue, unless WORKER_CONCURRENCY says otherwise. */
  defaultConcurrency: number;
}

export const queuePolicies = {
  pages: { maxStalls: 1, handBackOnStop: false, defaultConcurrency: 4 },
  // Reports read a whole production from Kitsu: one at a time per worker keeps its memory bounded, and
  // their own queue keeps a heavy report from delaying a debug page or a render launch.
  reports: { maxStalls: 1, handBackOnStop: false, defaultConcurrency: 1 },
  // Render jobs track farm jobs for hours, across deploys: a stopping worker hands them back, and
  // picking them up again never submits twice.
  render: { maxStalls: 50, handBackOnStop: true, defaultConcurrency: 4 },
} as const satisfies Record<QueueName, QueuePolicy>;

/**
 * What every kind's result extends: the status page, listings and the Kitsu comment read these three
 * fields and nothing kind-specific. `summary` is one line a person reads; `links` are shown with it.
 */
export const ResultBase = z.object({
  type: z.string(),
  summary: z.string(),
  links: z.array(Link),
});
export type ResultBase = z.infer<typeof ResultBase>;

/**
 * What the worker keeps of a result for status pages and listings (the result itself may be megabytes),
 * and what GET /jobs/:id shows as `result`. `title` names a page result's link.
 */
export const StatusResult = ResultBase.extend({
  // Results recorded before every result had links still read.
  links: z.array(Link).default([]),
  title: z.string().optional(),
  /** A URL the status page opens as soon as the job has completed (a launch of one task). */
  open: z.string().optional(),
}).loose();
export type StatusResult = z.infer<typeof StatusResult>;

/** How a kind's result reads to people. */
export interface ResultDescription<R extends ResultBase> {
  /** The outcome in the Kitsu comment: `"<action>" completed (<this>)`. */
  comment(result: R): string;
  /** What the worker keeps for the status view when the job completes. */
  status(result: R): StatusResult;
  /** Set when the result is a page of its own, served whole at /jobs/:id/result. */
  page?(result: R): string;
  /** The result's numbers as files, served at /jobs/:id/result.<format> (result.csv, result.json). */
  files?: Partial<Record<ResultFileFormat, (result: R) => string>>;
}

/** The formats a result's numbers can be downloaded in, with the type each is served as. */
export const resultFileTypes = {
  csv: 'text/csv; charset=utf-8',
  json: 'application/json; charset=utf-8',
} as const;
export type ResultFileFormat = keyof typeof resultFileTypes;

/** The farm a kind submits to, with the setting that says where it is. */
export interface FarmNeed {
  farm: FarmKind;
  setting: 'FLAMENCO_URL' | 'AFANASY_HOST';
}

/** Everything kitsu-actions knows of one action kind, outside its handler. */
export interface KindManifest<
  Kind extends string = string,
  Options extends z.ZodType = z.ZodType,
  Result extends z.ZodType<ResultBase> = z.ZodType<ResultBase>,
> {
  /** The catalogue's `kind`, the BullMQ job name. */
  kind: Kind;
  queue: QueueName;
  /** The catalogue action's `options`, checked when the catalogue loads and again by the worker. */
  options: Options;
  /** What the handler returns; the worker refuses any other shape. */
  result: Result;
  /** BullMQ's retries of a failed attempt. */
  jobOptions: { attempts: number; backoff: { type: 'exponential' | 'fixed'; delay: number } };
  /** Keep the request as received (headers minus credentials, body, fields) in the job data. */
  keepRawRequest: boolean;
  /** The farm it needs: an action of this kind without that farm configured stops the start-up. */
  farm?: FarmNeed;
  describe: ResultDescription<z.infer<Result>>;
}

/**
 * A kind's manifest. The result schema must extend ResultBase (a result without a summary does not
 * compile), and `describe` is typed by it.
 */
export function defineKind<
  const Kind extends string,
  Options extends z.ZodType,
  Result extends z.ZodType<ResultBase>,
>(manifest: KindManifest<Kind, Options, Result>): KindManifest<Kind, Options, Result> {
  return manifest;
}
