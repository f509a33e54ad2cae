import type { HandlerMap } from './types.ts';
import { debugHandler } from './debug/index.ts';
import { launchHandler } from './launch/index.ts';
import { renderCgruHandler } from './render-cgru/index.ts';
import { renderFlamencoHandler } from './render-flamenco/index.ts';
import { scriptHandler } from './script/index.ts';
import { statsHandler } from './stats/index.ts';
import { webhookHandler } from './webhook/index.ts';

/** One entry per job kind: a kind without a handler does not compile. */
export const handlers = {
  debug: debugHandler,
  'render.flamenco': renderFlamencoHandler,
  'render.cgru': renderCgruHandler,
  stats: statsHandler,
  launch: launchHandler,
  webhook: webhookHandler,
  script: scriptHandler,
} satisfies HandlerMap;
