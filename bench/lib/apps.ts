/** The application code the bench drives, imported by path (bench/ is a root-level tool, not a package). */
export { buildApp } from '../../apps/receiver/src/app.ts';
export { createAccess, receiverZouClient } from '../../apps/receiver/src/deps.ts';
export { bindCaller } from '../../apps/receiver/src/identity.ts';
export { createRateLimiter } from '../../apps/receiver/src/rate-limit.ts';
export { handlers } from '../../apps/worker/src/handlers/index.ts';
export type { HandlerMap } from '../../apps/worker/src/handlers/types.ts';
export { startWorkers, workerZouClient } from '../../apps/worker/src/workers.ts';
