import { defineKind } from './define.ts';
import { FlamencoRenderOptions, RenderResult, describeRender, renderJobOptions } from '../render.ts';

/** Submits one Flamenco job per selected shot and tracks them to their end. */
export const renderFlamenco = defineKind({
  kind: 'render.flamenco',
  queue: 'render',
  options: FlamencoRenderOptions,
  result: RenderResult,
  keepRawRequest: false,
  jobOptions: renderJobOptions,
  farm: { farm: 'flamenco', setting: 'FLAMENCO_URL' },
  describe: describeRender,
});
