import { runService } from '@kitsu-actions/shared';
import { handlers } from './handlers/index.ts';
import { startWorkers, workerZouClient } from './workers.ts';

await runService('worker', process.env, async (config, logger) => {
  const zou = workerZouClient(config, logger);
  if (zou === undefined) logger.info('no KITSU_URL/KITSU_BOT_TOKEN: pages are built without Kitsu data');
  else logger.info({ kitsu: zou.baseUrl }, 'Kitsu data read as the bot');
  const set = await startWorkers({ config, handlers, logger, zou });
  return () => set.close();
});
