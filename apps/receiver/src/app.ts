import cors from '@koa/cors';
import Router from '@koa/router';
import Koa from 'koa';
import type { AppDeps } from './deps.ts';
import { errorHandler } from './errors.ts';
import { limitByAddress } from './rate-limit.ts';
import { actionsRouter, maxFields } from './routes/actions.ts';
import { healthRouter } from './routes/health.ts';
import { jobsRouter } from './routes/jobs.ts';
import { landingRouter } from './routes/landing.ts';
import { securityHeaders } from './security-headers.ts';

export type { AppDeps } from './deps.ts';

/** The receiver as a Koa app: no listening, no environment, no timers; main.ts and tests call this. */
export function buildApp(deps: AppDeps): Koa {
  const app = new Koa();
  app.proxy = true;
  // The client's address is the X-Forwarded-For entry the nearest proxy added (the last one): the entries
  // before it are whatever the client sent, and rate limits count by address.
  app.maxIpsCount = 1;
  // After the answer: a client that went away, or a request Node timed out (HTTP_REQUEST_TIMEOUT_MS).
  app.on('error', (error: Error & { code?: string }) => {
    deps.logger.debug({ err: error }, 'connection ended before the answer was sent');
  });
  const origins = new Set(deps.config.kitsuOrigins);
  app.use(securityHeaders(deps.config.http.frameAncestors));
  app.use(
    errorHandler({ logger: deps.logger, bodyLimitBytes: deps.config.requests.bodyLimitBytes, maxFields }),
  );
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
  app.use(limitByAddress(deps.rateLimiter));
  const root = new Router();
  for (const router of [landingRouter(deps), actionsRouter(deps), jobsRouter(deps), healthRouter(deps)]) {
    root.use(router.routes());
  }
  // Empty 405/501 answers (with Allow) that the error handler puts in words.
  app.use(root.routes()).use(root.allowedMethods());
  return app;
}
