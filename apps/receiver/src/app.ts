import cors from '@koa/cors';
import Router from '@koa/router';
import Koa from 'koa';
import type { AppDeps } from './deps.ts';
import { errorHandler } from './errors.ts';
import { actionsRouter } from './routes/actions.ts';
import { healthRouter } from './routes/health.ts';
import { jobsRouter } from './routes/jobs.ts';

export type { AppDeps } from './deps.ts';

/** The receiver as a Koa app: no listening, no environment, no timers; main.ts and tests call this. */
export function buildApp(deps: AppDeps): Koa {
  const app = new Koa();
  app.proxy = true;
  const origins = new Set(deps.config.kitsuOrigins);
  app.use(errorHandler({ logger: deps.logger, bodyLimitBytes: deps.config.requests.bodyLimitBytes }));
  app.use(
    cors({
      // Kitsu sends credentials, so the exact origin is echoed (never *); unknown origins get no CORS headers.
      origin: (ctx) => (origins.has(ctx.get('Origin')) ? ctx.get('Origin') : ''),
      credentials: true,
      allowMethods: ['GET', 'POST', 'OPTIONS'],
      allowHeaders: ['Content-Type'],
      exposeHeaders: ['Location', 'Retry-After'],
      maxAge: 600,
    }),
  );
  const root = new Router();
  for (const router of [actionsRouter(deps), jobsRouter(deps), healthRouter(deps)]) root.use(router.routes());
  app.use(root.routes()).use(root.allowedMethods({ throw: true }));
  return app;
}
