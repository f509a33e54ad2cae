import { once } from 'node:events';
import {
  checkCatalogueFarms,
  checkCatalogueSchemes,
  createRedis,
  JobQueues,
  loadCatalogue,
  runService,
} from '@kitsu-actions/shared';
import { buildApp } from './app.ts';
import { checkCatalogueForAuth, createAccess, receiverZouClient, trustWarning } from './deps.ts';
import { createHttpServer } from './http-server.ts';
import { createRateLimiter } from './rate-limit.ts';

await runService('receiver', process.env, async (config, logger) => {
  const catalogue = await loadCatalogue(config.actionsFile);
  logger.info(
    { file: config.actionsFile, actions: catalogue.actions.map((action) => action.id) },
    'catalogue loaded',
  );
  checkCatalogueForAuth(catalogue, config);
  checkCatalogueFarms(catalogue, config);
  checkCatalogueSchemes(catalogue, config);
  const warning = trustWarning(config);
  if (warning !== undefined) logger.warn({ authMode: config.auth.mode }, warning);
  else logger.info({ authMode: config.auth.mode, kitsu: config.kitsu?.url }, `AUTH_MODE=${config.auth.mode}`);
  const access = createAccess(config, receiverZouClient(config, logger));
  const connection = createRedis(config.redis.url, 'producer', config.redis.timeoutMs);
  connection.on('error', (error: Error) => logger.warn({ err: error }, 'redis connection error'));
  connection.on('ready', () => logger.info({ redis: config.redis.url }, 'redis ready'));
  const queues = new JobQueues(connection, {
    prefix: config.queuePrefix,
    timeoutMs: config.redis.timeoutMs,
    dedupWindowMs: config.requests.dedupWindowMs,
  });
  const rateLimiter = createRateLimiter(connection, config, logger);
  const app = buildApp({ config, catalogue, queues, logger, rateLimiter, ...access });
  const server = createHttpServer(config.http);
  const handle = app.callback();
  server.on('request', (request, response) => void handle(request, response));
  server.listen(config.http.port, config.http.host);
  await once(server, 'listening');
  logger.info(
    { url: config.publicUrl, host: config.http.host, port: config.http.port },
    'receiver listening',
  );
  return async () => {
    // Stop accepting, let in-flight requests finish, then close Redis.
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    await closed;
    await queues.close();
    connection.disconnect();
  };
});
