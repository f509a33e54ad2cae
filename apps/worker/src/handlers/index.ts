import type { HandlerMap } from './types.ts';
import { debugHandler } from './debug/index.ts';

/** One entry per job kind: a kind without a handler does not compile. */
export const handlers = {
  debug: debugHandler,
} satisfies HandlerMap;
