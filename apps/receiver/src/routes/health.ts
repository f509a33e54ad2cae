import Router from '@koa/router';
import type { AppDeps } from '../deps.ts';

export function healthRouter(deps: AppDeps): Router {
  const router = new Router();
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    try {
      await deps.queues.ping();
      ctx.body = { status: 'ready', redis: 'ok' };
    } catch (error) {
      ctx.status = 503;
      ctx.body = { status: 'unavailable', redis: (error as Error).message };
    }
  });
  return router;
}
