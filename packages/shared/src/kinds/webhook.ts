import { z } from 'zod';
import { RenderEntityType } from '../render.ts';
import { ResultBase, defineKind } from './define.ts';

/** An environment variable's name: the secret itself never sits in the catalogue. */
const EnvName = z
  .string()
  .regex(/^[A-Z_][A-Z0-9_]*$/, 'the name of an environment variable (A-Z, 0-9, _), not the secret itself');

export const WebhookOptions = z.strictObject({
  /** Where the selection is POSTed, e.g. Kabaret's asset manager service. */
  url: z.url({ protocol: /^https?$/, error: 'an http:// or https:// URL' }),
  /** The environment variable (on the worker) holding the HMAC-SHA256 secret of the signature. */
  secretEnv: EnvName,
  /** The longest wait for one delivery's answer. */
  timeoutMs: z.number().int().min(100).max(120_000).default(10_000),
  /** The entity types the action takes tasks of (any by default). */
  allowEntityTypes: z.array(RenderEntityType).min(1).optional(),
});
export type WebhookOptions = z.infer<typeof WebhookOptions>;

export const WebhookResult = ResultBase.extend({
  type: z.literal('webhook'),
  /** The same on every attempt: the receiving side drops a delivery it has seen. */
  deliveryId: z.string(),
  url: z.string(),
  /** The HTTP status that accepted the delivery, and the start of its answer. */
  status: z.number().int(),
  answer: z.string(),
});
export type WebhookResult = z.infer<typeof WebhookResult>;

/** Signs and POSTs the selection, with what Kitsu knows of each task, to another system. */
export const webhook = defineKind({
  kind: 'webhook',
  queue: 'pages',
  options: WebhookOptions,
  result: WebhookResult,
  keepRawRequest: false,
  // Network errors and 5xx answers are retried with the same delivery id; a 4xx is final.
  jobOptions: { attempts: 5, backoff: { type: 'exponential', delay: 1000 } },
  describe: {
    comment: (result) => result.summary,
    status: ({ type, summary, links, deliveryId, url, status }) => ({
      type,
      summary,
      links,
      deliveryId,
      url,
      status,
    }),
  },
});
