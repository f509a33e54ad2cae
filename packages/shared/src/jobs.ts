import type { JobsOptions } from 'bullmq';
import { z } from 'zod';
import { ActionRequest } from './kitsu-request.ts';
import { Link } from './link.ts';
import { CgruRenderOptions, FlamencoRenderOptions, RenderResult } from './render.ts';
import { ReportOutcome, ReportSettings } from './report.ts';

/**
 * The job registry: every action kind, the queue that carries it, its option/result schemas and its
 * default BullMQ options. Producers and consumers both derive from this table; adding a kind is one
 * entry here plus a handler folder in apps/worker.
 */

/** One queue per kind family, so a flood of one family never starves another. */
export const QueueName = z.enum(['pages', 'render']);
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
  // Render jobs track farm jobs for hours, across deploys: a stopping worker hands them back, and
  // picking them up again never submits twice.
  render: { maxStalls: 50, handBackOnStop: true, defaultConcurrency: 4 },
} as const satisfies Record<QueueName, QueuePolicy>;

/** A result that is a page of its own, served at /jobs/:id/result. */
export const PageResult = z.object({
  type: z.literal('page'),
  title: z.string(),
  summary: z.string(),
  html: z.string(),
});
export type PageResult = z.infer<typeof PageResult>;

export const DebugOptions = z.strictObject({});
export type DebugOptions = z.infer<typeof DebugOptions>;

interface KindSpec {
  queue: QueueName;
  /** Shown on the status page while the job waits. */
  title: string;
  options: z.ZodType;
  result: z.ZodType;
  /** Keep the request as received (headers minus credentials, body, fields) in the job data. */
  keepRawRequest: boolean;
  jobOptions: Pick<JobsOptions, 'attempts' | 'backoff'>;
}

export const jobKinds = {
  debug: {
    queue: 'pages',
    title: 'Debug page',
    options: DebugOptions,
    result: PageResult,
    keepRawRequest: true,
    jobOptions: { attempts: 3, backoff: { type: 'exponential', delay: 1000 } },
  },
  // Farm-side failures, refusals and a farm unreachable past FARM_UNREACHABLE_TIMEOUT_S end the job at
  // once; the attempts are for the rest (Kitsu down, a worker lost). A retry never submits twice.
  'render.flamenco': {
    queue: 'render',
    title: 'Render on Flamenco',
    options: FlamencoRenderOptions,
    result: RenderResult,
    keepRawRequest: false,
    jobOptions: { attempts: 3, backoff: { type: 'exponential', delay: 5000 } },
  },
  'render.cgru': {
    queue: 'render',
    title: 'Render on CGRU Afanasy',
    options: CgruRenderOptions,
    result: RenderResult,
    keepRawRequest: false,
    jobOptions: { attempts: 3, backoff: { type: 'exponential', delay: 5000 } },
  },
} as const satisfies Record<string, KindSpec>;

export type JobKind = keyof typeof jobKinds;
export const JobKind = z.enum(Object.keys(jobKinds) as [JobKind, ...JobKind[]]);
export type KindOptions<K extends JobKind> = z.infer<(typeof jobKinds)[K]['options']>;
export type KindResult<K extends JobKind> = z.infer<(typeof jobKinds)[K]['result']>;

export function kindSpec(kind: JobKind): KindSpec {
  return jobKinds[kind];
}

export function queuesOfKinds(kinds: Iterable<JobKind>): QueueName[] {
  return [...new Set([...kinds].map((kind) => jobKinds[kind].queue))];
}

/**
 * The request as it reached the receiver, for pages that show it; credentials are never kept, and a copy
 * larger than RAW_REQUEST_LIMIT is cut (`cut` says what was left out, in words a page can show).
 */
export const RawRequest = z.object({
  method: z.string(),
  url: z.string(),
  headers: z.record(z.string(), z.string()),
  contentType: z.string().optional(),
  body: z.string(),
  fields: z.record(z.string(), z.unknown()),
  cut: z.array(z.string()).optional(),
});
export type RawRequest = z.infer<typeof RawRequest>;

/** The catalogue entry as it was when the person clicked: what they saw is what runs. */
export const ActionSnapshot = z.object({
  id: z.string(),
  name: z.string(),
  kind: JobKind,
  entityType: z.string(),
  ajax: z.boolean(),
  options: z.unknown(),
  report: ReportSettings.optional(),
});
export type ActionSnapshot = z.infer<typeof ActionSnapshot>;

export const JobData = z.object({
  request: ActionRequest,
  action: ActionSnapshot,
  raw: RawRequest.optional(),
  /** Written by the worker once it has reported the outcome in Kitsu (or failed to). */
  report: ReportOutcome.optional(),
});
export type JobData = z.infer<typeof JobData>;

/** What a handler reports through job.updateProgress. */
export const JobProgress = z.object({
  percent: z.number().min(0).max(100),
  message: z.string(),
  /** Shown on the status page while the job runs and after it ends (e.g. each farm job's own page). */
  links: z.array(Link).optional(),
});
export type JobProgress = z.infer<typeof JobProgress>;
