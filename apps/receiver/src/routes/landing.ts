import Router from '@koa/router';
import type { AppDeps } from '../deps.ts';
import { wantsHtml } from '../negotiation.ts';
import { landingLinks, landingPage, serviceDescription } from '../pages/landing.ts';

/** `/`: a page for a person who opens the service's address, a small index for a program. */
export function landingRouter(deps: AppDeps): Router {
  const router = new Router();
  const { publicUrl } = deps.config;
  router.get('/', (ctx) => {
    if (ctx.query['format'] !== 'json' && wantsHtml(ctx)) {
      ctx.type = 'html';
      ctx.body = landingPage({ publicUrl, catalogue: deps.catalogue, authMode: deps.config.auth.mode }).value;
      return;
    }
    ctx.body = { service: 'kitsu-actions', description: serviceDescription, links: landingLinks(publicUrl) };
  });
  return router;
}
