import { z } from 'zod';
import { LaunchUrl } from '../launch-url.ts';
import { RenderEntityType } from '../render.ts';
import { ResultBase, defineKind } from './define.ts';

export const LaunchOptions = z.strictObject({
  /** The URL to open, filled for each selected task: `rv://…`, `kabaret://…`, with `{fields}`. */
  url: LaunchUrl,
  /** The button's words on the status page, such as "Open in RV". */
  label: z.string().trim().min(1).max(60).default('Open'),
  /** The entity types the action takes tasks of (shots by default). */
  allowEntityTypes: z.array(RenderEntityType).min(1).default(['shot']),
});
export type LaunchOptions = z.infer<typeof LaunchOptions>;

/** One selected task's URL. */
export const LaunchTarget = z.object({ taskId: z.string(), name: z.string(), url: z.string() });
export type LaunchTarget = z.infer<typeof LaunchTarget>;

export const LaunchResult = ResultBase.extend({
  type: z.literal('launch'),
  targets: z.array(LaunchTarget).min(1),
});
export type LaunchResult = z.infer<typeof LaunchResult>;

/**
 * A player or DCC opened through its custom protocol: the worker fills the URL from Kitsu's data and the
 * status page opens it (a selection of one task at once; each task's URL is a button).
 */
export const launch = defineKind({
  kind: 'launch',
  queue: 'pages',
  options: LaunchOptions,
  result: LaunchResult,
  keepRawRequest: false,
  jobOptions: { attempts: 3, backoff: { type: 'exponential', delay: 1000 } },
  describe: {
    comment: (result) => result.summary,
    status: ({ type, summary, links, targets }) => ({
      type,
      summary,
      links,
      targets,
      // The page opens a single target as soon as the job has completed.
      ...(targets.length === 1 && targets[0] !== undefined ? { open: targets[0].url } : {}),
    }),
  },
});
