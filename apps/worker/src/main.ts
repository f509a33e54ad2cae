import { runService } from '@kitsu-actions/shared';
import { handlers } from './handlers/index.ts';
import { startWorkers } from './workers.ts';

await runService('worker', process.env, async (config, logger) => {
  const set = await startWorkers({ config, handlers, logger });
  return () => set.close();
});
