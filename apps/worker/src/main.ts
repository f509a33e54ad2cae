import {
  checkCatalogueFarms,
  checkCatalogueSchemes,
  checkCatalogueSecrets,
  loadCatalogue,
  runService,
} from '@kitsu-actions/shared';
import { createFarms } from './farms/index.ts';
import { handlers } from './handlers/index.ts';
import { startWorkers, workerZouClient } from './workers.ts';

await runService('worker', process.env, async (config, logger) => {
  // The catalogue says which farms are in use: a render action whose farm is not configured stops here.
  const catalogue = await loadCatalogue(config.actionsFile);
  checkCatalogueFarms(catalogue, config);
  checkCatalogueSchemes(catalogue, config);
  checkCatalogueSecrets(catalogue, process.env, config.actionsFile);
  const zou = workerZouClient(config, logger);
  if (zou === undefined) logger.info('no KITSU_URL/KITSU_BOT_TOKEN: pages are built without Kitsu data');
  else logger.info({ kitsu: zou.baseUrl }, 'Kitsu data read as the bot');
  const farms = createFarms(config, logger);
  logger.info(
    { flamenco: farms.flamenco?.url ?? null, afanasy: farms.afanasy?.url ?? null, file: config.actionsFile },
    'farms',
  );
  const set = await startWorkers({ config, handlers, logger, zou, farms });
  return () => set.close();
});
