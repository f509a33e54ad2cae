import { defineKind } from './define.ts';
import { CgruRenderOptions, RenderResult, describeRender, renderJobOptions } from '../render.ts';

/** Submits one Afanasy job per selected shot and tracks them to their end. */
export const renderCgru = defineKind({
  kind: 'render.cgru',
  queue: 'render',
  options: CgruRenderOptions,
  result: RenderResult,
  keepRawRequest: false,
  jobOptions: renderJobOptions,
  farm: { farm: 'afanasy', setting: 'AFANASY_HOST' },
  describe: describeRender,
});
