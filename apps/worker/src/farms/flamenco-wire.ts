/** The Flamenco 3 Manager's REST payloads (`/api/v3`) this adapter sends and reads, as zod schemas. */
import { z } from 'zod';
import { SubmitterPlatform } from '@kitsu-actions/shared';

/** Flamenco's frame syntax: `1-250`, `1,3,5-9`. */
const FRAMES = /^\s*-?\d+\s*(-\s*-?\d+\s*)?(,\s*-?\d+\s*(-\s*-?\d+\s*)?)*$/;

/**
 * A job as Flamenco's `SubmittedJob`, checked here for what the Manager itself does not check (priority
 * range, platform, the blendfile) and for what `simple-blender-render` needs.
 */
export const FlamencoSubmittedJob = z
  .strictObject({
    name: z.string().trim().min(1),
    type: z.string().min(1),
    priority: z.number().int().min(0).max(100),
    submitter_platform: SubmitterPlatform,
    settings: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
    /** Values must be strings: the Manager refuses anything else. */
    metadata: z.record(z.string(), z.string()).optional(),
    type_etag: z.string().optional(),
    worker_tag: z.uuid().optional(),
    initial_status: z.enum(['queued', 'paused']).optional(),
  })
  .superRefine((job, ctx) => {
    if (job.type !== 'simple-blender-render') return;
    const { settings } = job;
    const need = (key: string, ok: boolean, message: string) => {
      if (!ok) ctx.addIssue({ code: 'custom', path: ['settings', key], message });
    };
    const blendfile = settings['blendfile'];
    need('blendfile', typeof blendfile === 'string' && blendfile.trim() !== '', 'blendfile is required');
    const output = settings['render_output_path'];
    need(
      'render_output_path',
      typeof output === 'string' && output.trim() !== '',
      'render_output_path is required (render_output_root alone is not enough)',
    );
    const frames = settings['frames'];
    need('frames', typeof frames === 'string' && FRAMES.test(frames), 'frames must be a range like "1-250"');
    const chunk = settings['chunk_size'];
    need(
      'chunk_size',
      typeof chunk === 'number' && Number.isInteger(chunk) && chunk >= 1,
      'chunk_size must be an integer of at least 1',
    );
    const fps = settings['fps'];
    need('fps', fps === undefined || typeof fps === 'number', 'fps must be a number');
  });
export type FlamencoSubmittedJob = z.infer<typeof FlamencoSubmittedJob>;

export const FlamencoJobStatusValue = z.enum([
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
]);
export type FlamencoJobStatusValue = z.infer<typeof FlamencoJobStatusValue>;

/** The Manager's `Job`, the fields this adapter reads. */
export const FlamencoJobInfo = z.object({
  id: z.string().min(1),
  name: z.string(),
  status: FlamencoJobStatusValue,
  activity: z.string().optional(),
  metadata: z.record(z.string(), z.string()).nullish(),
  /** Flamenco 3.8+. */
  steps_completed: z.number().int().nonnegative().optional(),
  steps_total: z.number().int().nonnegative().optional(),
  created: z.string().optional(),
});
export type FlamencoJobInfo = z.infer<typeof FlamencoJobInfo>;

/** `GET /api/v3/jobs`: every job, unfiltered (other tools' jobs too, so only what matching needs). */
export const FlamencoJobList = z.object({
  jobs: z.array(
    z.object({
      id: z.string(),
      created: z.string().optional(),
      metadata: z.record(z.string(), z.unknown()).nullish(),
    }),
  ),
});
export type FlamencoJobList = z.infer<typeof FlamencoJobList>;

export const FlamencoTaskList = z.object({ tasks: z.array(z.object({ status: z.string() })) });
export type FlamencoTaskList = z.infer<typeof FlamencoTaskList>;

/** `{ code, message }` from the Manager, `{ message }` from its request validator. */
export const FlamencoErrorBody = z.object({ message: z.string(), code: z.number().optional() });
export type FlamencoErrorBody = z.infer<typeof FlamencoErrorBody>;
