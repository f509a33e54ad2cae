import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { JobState, PageResult, type JobStatusView } from '@kitsu-actions/shared';
import type { AppDeps } from '../deps.ts';
import { HttpProblem } from '../errors.ts';
import type { Caller } from '../identity.ts';
import { param, wantsHtml } from '../negotiation.ts';
import { jobListPage, statusPage } from '../pages/status.ts';
import { identifyCaller } from './actions.ts';

/** Kitsu roles that may cancel anyone's job (under AUTH_MODE=zou-session). */
const cancelRoles: ReadonlySet<string> = new Set(['admin', 'manager']);

/** Who cancels, as the job will name them; throws 403 when the caller may not cancel this job. */
function canceller(caller: Caller, view: JobStatusView): { by: string; personId?: string } {
  switch (caller.mode) {
    case 'zou-session': {
      const { person } = caller;
      const personId = person.id.toLowerCase();
      const name = person.full_name ?? `${person.first_name} ${person.last_name}`;
      const by = typeof person.email === 'string' && person.email !== '' ? person.email : name;
      if (personId === view.requestedBy.personId || cancelRoles.has(person.role)) {
        return {
          by:
            cancelRoles.has(person.role) && personId !== view.requestedBy.personId
              ? `${by} (${person.role})`
              : by,
          personId,
        };
      }
      throw new HttpProblem(
        403,
        'not_allowed',
        `Only the person who ran this job (${view.requestedBy.email ?? view.requestedBy.personId}) or a Kitsu manager or admin can cancel it; ${name} is ${person.role}.`,
      );
    }
    case 'token':
      return { by: 'a holder of the actions token (AUTH_MODE=token)' };
    case 'none':
      return { by: 'someone (AUTH_MODE=none, caller unknown)' };
  }
}

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

  router.post('/jobs/:id/cancel', async (ctx) => {
    const { view } = await viewOf(ctx);
    const caller = await identifyCaller(deps, ctx);
    const who = canceller(caller, view);
    if (caller.mode === 'none') {
      deps.logger.warn({ jobId: view.id }, 'cancel accepted without knowing who asked (AUTH_MODE=none)');
    }
    const answer = await deps.queues.cancel(view.id, who, deps.config.retention.failed.age);
    if (answer.outcome === 'unknown') {
      throw new HttpProblem(404, 'unknown_job', `There is no job ${view.id}.`);
    }
    if (answer.outcome === 'finished') {
      throw new HttpProblem(
        409,
        'job_finished',
        `Job ${view.id} has already ended (${answer.view.state}); there is nothing to cancel.`,
      );
    }
    deps.logger.info(
      { jobId: view.id, by: who.by, personId: who.personId, state: view.state },
      'cancel requested',
    );
    const statusUrl = `${publicUrl}/jobs/${view.id}`;
    if (wantsHtml(ctx)) {
      ctx.redirect(statusUrl);
      ctx.status = 303;
      return;
    }
    ctx.status = 202;
    ctx.set('Location', statusUrl);
    ctx.body = { jobId: view.id, state: answer.view.state, cancelledBy: who.by, statusUrl };
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
