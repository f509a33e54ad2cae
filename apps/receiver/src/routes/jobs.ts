import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { JobState, PageResult, type JobStatusView } from '@kitsu-actions/shared';
import type { AppDeps } from '../deps.ts';
import { HttpProblem } from '../errors.ts';
import { param, wantsHtml } from '../negotiation.ts';
import { jobListPage, statusPage } from '../pages/status.ts';

const ListQuery = z.object({
  person: z.guid().optional(),
  action: z.string().max(64).optional(),
  state: JobState.optional(),
  page: z.coerce.number().int().min(1).default(1),
  perPage: z.coerce.number().int().min(1).max(100).default(25),
});

/** Pages built by workers are served under a policy that runs no script and loads nothing remote. */
const resultPolicy =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

function asHtml(ctx: Context): boolean {
  return ctx.query['format'] !== 'json' && wantsHtml(ctx);
}

export function jobsRouter(deps: AppDeps): Router {
  const router = new Router();
  const { publicUrl, statusRefreshSeconds } = deps.config;

  async function viewOf(ctx: Context): Promise<{ view: JobStatusView; returnvalue: unknown }> {
    const id = param(ctx, 'id');
    const found = await deps.queues.find(id);
    if (!found) {
      throw new HttpProblem(
        404,
        'unknown_job',
        `There is no job ${id}. Finished jobs are kept for a limited time; it may have been removed.`,
      );
    }
    return { view: found.view, returnvalue: found.job.returnvalue };
  }

  router.get('/jobs', async (ctx) => {
    const query = ListQuery.safeParse(ctx.query);
    if (!query.success) {
      throw new HttpProblem(
        400,
        'invalid_query',
        'Invalid filter for the job list.',
        z.treeifyError(query.error),
      );
    }
    const { page, perPage } = query.data;
    const { jobs, total } = await deps.queues.list(
      {
        ...(query.data.person ? { personId: query.data.person } : {}),
        ...(query.data.action ? { actionId: query.data.action } : {}),
        ...(query.data.state ? { state: query.data.state } : {}),
      },
      { offset: (page - 1) * perPage, limit: perPage },
    );
    const pages = Math.ceil(total / perPage);
    if (asHtml(ctx)) {
      ctx.type = 'html';
      ctx.body = jobListPage(jobs, { publicUrl, page, pages, total }).value;
      return;
    }
    ctx.body = { jobs, page, perPage, total, pages };
  });

  router.get('/jobs/:id', async (ctx) => {
    const { view } = await viewOf(ctx);
    ctx.set('Cache-Control', 'no-store');
    if (asHtml(ctx)) {
      ctx.type = 'html';
      ctx.body = statusPage(view, { publicUrl, refreshSeconds: statusRefreshSeconds }).value;
      return;
    }
    ctx.body = view;
  });

  router.get('/jobs/:id/result', async (ctx) => {
    const { view, returnvalue } = await viewOf(ctx);
    const result = PageResult.safeParse(returnvalue);
    if (view.state !== 'completed' || !result.success) {
      throw new HttpProblem(
        404,
        'no_result_page',
        view.state === 'completed'
          ? `Job ${view.id} has no result page.`
          : `Job ${view.id} is ${view.state}; its result page exists once it has completed.`,
      );
    }
    ctx.set('Content-Security-Policy', resultPolicy);
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.type = 'html';
    ctx.body = result.data.html;
  });

  return router;
}
