import { z } from 'zod';
import { defineKind } from './define.ts';
import { PageResult, describePage } from './results.ts';

export const DebugOptions = z.strictObject({});
export type DebugOptions = z.infer<typeof DebugOptions>;

/** A page showing what Kitsu sent and what kitsu-actions made of it. */
export const debug = defineKind({
  kind: 'debug',
  queue: 'pages',
  options: DebugOptions,
  result: PageResult,
  keepRawRequest: true,
  jobOptions: { attempts: 3, backoff: { type: 'exponential', delay: 1000 } },
  describe: describePage,
});
