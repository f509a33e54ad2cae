import Router from '@koa/router';
import type { Context, ParameterizedContext } from 'koa';
import { z } from 'zod';
import {
  capabilityParam,
  JobState,
  manifestOf,
  preview,
  resultFileTypes,
  sortableTablesSource,
  type JobStatusView,
  type KindManifest,
  type ResultBase,
  type ResultFileFormat,
} from '@kitsu-actions/shared';
import { readerOfPerson, type JobReader } from '../authorization.ts';
import { identifyReader, type ReaderState } from '../caller.ts';
import type { AppDeps } from '../deps.ts';
import { HttpProblem } from '../errors.ts';
import type { Caller } from '../identity.ts';
import { answerAccepted, param, wantsHtml } from '../negotiation.ts';
import { jobListPage, statusPage } from '../pages/status.ts';

/** The same answer for a job that does not exist and one the caller may not see: nothing leaks. */
function unknownJob(id: string): HttpProblem {
  return new HttpProblem(
    404,
    'unknown_job',
    `There is no job ${preview(id, 80)} that you can see. Finished jobs are kept for a limited time; it may have been removed.`,
  );
}

const states = JobState.options.join(', ');

const ListQuery = z.object({
  person: z
    .guid()
    .transform((id) => id.toLowerCase())
    .optional(),
  action: z.string().max(64).optional(),
  // The names the pages and the JSON show; any letter case.
  state: z
    .string()
    .transform((state) => state.trim().toLowerCase())
    .pipe(z.enum(JobState.options, { error: `Unknown state: use one of ${states}.` }))
    .optional(),
  page: z.coerce.number().int().min(1).default(1),
  perPage: z.coerce.number().int().min(1).max(100).default(25),
});

/**
 * Pages built by workers are served under a policy that runs no script but the sortable tables' (by its
 * hash), loads nothing remote and posts no form (securityHeaders adds frame-ancestors and nosniff).
 */
const resultPolicy = `default-src 'none'; script-src ${sortableTablesSource}; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'`;

function asHtml(ctx: Context): boolean {
  return ctx.query['format'] !== 'json' && wantsHtml(ctx);
}

/**
 * Reads of the job index this receiver runs at once; the others wait their turn, idle. A listing loop (a
 * dashboard, a script, eight of them) then never fills the event loop ahead of an action's
 * acknowledgement. Past `readQueueLimit` waiting, a read is refused at once (503) rather than held.
 */
export const readConcurrency = 1;
export const readQueueLimit = 200;

/** A first-come, first-served limit on work running at once (exported for its tests). */
export class Gate {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    private readonly limit: number,
    private readonly queueLimit: number,
  ) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.active < this.limit) this.active += 1;
    else if (this.waiting.length >= this.queueLimit) {
      throw new HttpProblem(
        503,
        'busy',
        `This receiver is serving ${this.queueLimit} reads of jobs already; try again in a moment.`,
        undefined,
        { 'Retry-After': '1' },
      );
    } else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await work();
    } finally {
      // The slot passes straight to the next in line, or frees.
      const next = this.waiting.shift();
      if (next === undefined) this.active -= 1;
      else next();
    }
  }
}

type ReaderContext = ParameterizedContext<ReaderState>;

/** Who cancels, as the job will name them. */
interface Canceller {
  by: string;
  personId?: string;
}

export function jobsRouter(deps: AppDeps): Router {
  const router = new Router();
  const { statusRefreshSeconds } = deps.config;
  const { links } = deps;
  const reads = new Gate(readConcurrency, readQueueLimit);

  /**
   * Who is reading, by AUTH_MODE: anyone (none); under token, the holder of the actions token (every
   * job) or of one job's capability (`?cap=`, that job only: the identity middleware then leaves no
   * caller); under zou-session, the Kitsu session's person.
   */
  function readerOf(ctx: ReaderContext, jobId: string | undefined): JobReader {
    const { caller } = ctx.state;
    if (caller === undefined) return capabilityReader(ctx, jobId);
    switch (caller.mode) {
      case 'none':
      case 'token':
        return { kind: 'everyone' };
      case 'zou-session':
        return readerOfPerson(caller.person);
    }
  }

  /** AUTH_MODE=token without the token: the job's own link opens that job, and nothing else. */
  function capabilityReader(ctx: Context, jobId: string | undefined): JobReader {
    const cap = ctx.query[capabilityParam];
    if (cap === undefined) {
      throw new HttpProblem(
        401,
        'capability_required',
        jobId === undefined
          ? 'The job list needs the kitsu-actions token (?token=<ACTIONS_TOKEN> or the X-Kitsu-Actions-Token header).'
          : `This page opens with its own link: the status URL the action answered with, which ends in ?${capabilityParam}=… (AUTH_MODE=token). Open that link as it is.`,
      );
    }
    // Stryker disable next-line OptionalChaining: equivalent, a reader without a caller exists under AUTH_MODE=token only, which always has capabilities
    if (jobId !== undefined && typeof cap === 'string' && deps.capabilities?.check(jobId, cap) === true) {
      return { kind: 'job', jobId };
    }
    throw new HttpProblem(
      401,
      'capability_refused',
      jobId === undefined
        ? `A job's link (?${capabilityParam}=) opens that job only; the job list needs the kitsu-actions token.`
        : `This link does not open this job: its ${capabilityParam}= is another job's, or cut short. Open the status link the action answered with, as it is.`,
    );
  }

  /** The job's status, if this caller may read it; 401 without credentials, 404 otherwise. */
  async function visibleView(
    ctx: ReaderContext,
  ): Promise<{ view: JobStatusView; reader: JobReader; caller: Caller | undefined }> {
    const id = param(ctx, 'id');
    const reader = readerOf(ctx, id);
    const { caller } = ctx.state;
    const view = await reads.run(() => deps.queues.status(id, links));
    if (view === undefined) throw unknownJob(id);
    const job = { id: view.id, personId: view.requestedBy.personId, projectIds: view.projectIds };
    if (!(await deps.jobAccess.canRead(reader, job))) throw unknownJob(id);
    return { view, reader, caller };
  }

  /**
   * Who cancels; 403 when they may read the job but not cancel it. Under zou-session: the person who ran
   * it, an admin, or a manager on the team of its productions (supervisors see their team's jobs only).
   */
  async function canceller(
    reader: JobReader,
    caller: Caller | undefined,
    view: JobStatusView,
  ): Promise<Canceller> {
    if (reader.kind === 'job') return { by: "a holder of the job's status link (AUTH_MODE=token)" };
    // Stryker disable next-line ConditionalExpression: equivalent, a reader without a caller holds a job's link (reader.kind job), answered above
    if (caller === undefined || caller.mode === 'none')
      return { by: 'someone (AUTH_MODE=none, caller unknown)' };
    if (caller.mode === 'token') return { by: 'a holder of the actions token (AUTH_MODE=token)' };
    const { person } = caller;
    const personId = person.id.toLowerCase();
    const name = person.full_name ?? `${person.first_name} ${person.last_name}`;
    const by = typeof person.email === 'string' && person.email !== '' ? person.email : name;
    if (personId === view.requestedBy.personId) return { by, personId };
    const manages =
      person.role === 'admin' ||
      (person.role === 'manager' && (await deps.jobAccess.onTeams(person, view.projectIds)));
    if (manages) return { by: `${by} (${person.role})`, personId };
    throw new HttpProblem(
      403,
      'not_allowed',
      `Only the person who ran this job (${view.requestedBy.email ?? view.requestedBy.personId}), a manager on its production's team or a Kitsu admin can cancel it; ${name} is ${person.role}.`,
    );
  }

  // Stryker disable next-line ObjectLiteral: equivalent, a missing acting is off
  const reading = identifyReader(deps, { acting: false });

  router.get('/jobs', reading, async (ctx) => {
    const reader = readerOf(ctx, undefined);
    const query = ListQuery.safeParse(ctx.query);
    if (!query.success) {
      const state = query.error.issues.find((issue) => issue.path[0] === 'state');
      throw new HttpProblem(
        400,
        'invalid_query',
        state === undefined
          ? 'Invalid filter for the job list.'
          : `Invalid filter for the job list. ${state.message}`,
        z.treeifyError(query.error),
      );
    }
    const { page, perPage, person, action, state } = query.data;
    const visible = await deps.jobAccess.visibleTo(reader, () => reads.run(() => deps.queues.scopes()));
    ctx.set('Cache-Control', 'no-store');
    const html = asHtml(ctx);
    // The answer is built (and serialised) in the read's turn too: that is where the work is.
    const body = await reads.run(async () => {
      const { jobs, total } = await deps.queues.list(
        { personId: person, actionId: action, state, visible },
        { offset: (page - 1) * perPage, limit: perPage },
        links,
      );
      const pages = Math.ceil(total / perPage);
      if (html) {
        const filter = { person, action, state, perPage };
        return jobListPage(jobs, { publicUrl: deps.config.publicUrl, page, pages, total, filter }).value;
      }
      return JSON.stringify({ jobs, page, perPage, total, pages });
    });
    ctx.type = html ? 'html' : 'json';
    ctx.body = body;
  });

  router.get('/jobs/:id', reading, async (ctx) => {
    const { view } = await visibleView(ctx);
    ctx.set('Cache-Control', 'no-store');
    const html = asHtml(ctx);
    ctx.body = await reads.run(() =>
      Promise.resolve(
        html ? statusPage(view, { links, refreshSeconds: statusRefreshSeconds }).value : JSON.stringify(view),
      ),
    );
    ctx.type = html ? 'html' : 'json';
  });

  router.post('/jobs/:id/cancel', identifyReader(deps, { acting: true }), async (ctx) => {
    const { view, reader, caller } = await visibleView(ctx);
    const who = await canceller(reader, caller, view);
    if (caller?.mode === 'none') {
      deps.logger.warn({ jobId: view.id }, 'cancel accepted without knowing who asked (AUTH_MODE=none)');
    }
    const answer = await deps.queues.cancel(view.id, who, deps.config.retention.failed.age, links);
    // Stryker disable next-line ConditionalExpression,StringLiteral: not reached by a test, the job would have to be removed between the read above and the cancel
    if (answer.outcome === 'unknown') throw unknownJob(view.id);
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
    const statusUrl = links.href(view.id);
    answerAccepted(ctx, statusUrl, {
      jobId: view.id,
      state: answer.view.state,
      cancelledBy: who.by,
      statusUrl,
    });
  });

  /** A completed job's result, parsed by its kind's schema; a 404 naming why when there is none. */
  const completedResult = async (
    ctx: Context,
    what: string,
    has: (manifest: KindManifest) => boolean,
  ): Promise<{ manifest: KindManifest; result: ResultBase }> => {
    const { view } = await visibleView(ctx);
    const none = (): HttpProblem => new HttpProblem(404, 'no_result_page', `Job ${view.id} has no ${what}.`);
    // A kind without this page or file never has one, whatever the job's state.
    const manifest = manifestOf(view.kind);
    if (!has(manifest)) throw none();
    if (view.state !== 'completed') {
      throw new HttpProblem(
        404,
        'no_result_page',
        `Job ${view.id} is ${view.state}; its ${what} exists once it has completed.`,
      );
    }
    // The one read of a job's result: only once it is known to have what is asked. A result this build
    // cannot read (a worker of another build wrote it) has none either.
    const result = manifest.result.safeParse(await reads.run(() => deps.queues.result(view.id)));
    if (!result.success) throw none();
    ctx.set('Cache-Control', 'no-store');
    return { manifest, result: result.data };
  };

  router.get('/jobs/:id/result', reading, async (ctx) => {
    const { manifest, result } = await completedResult(
      ctx,
      'result page',
      (m) => m.describe.page !== undefined,
    );
    ctx.set('Content-Security-Policy', resultPolicy);
    // Stryker disable next-line StringLiteral: equivalent, Koa types a string body that starts with < as HTML
    ctx.type = 'html';
    // Stryker disable next-line OptionalChaining: equivalent, completedResult checked that the kind has a page
    ctx.body = manifest.describe.page?.(result);
  });

  for (const format of Object.keys(resultFileTypes) as ResultFileFormat[]) {
    router.get(`/jobs/:id/result.${format}`, reading, async (ctx) => {
      const { manifest, result } = await completedResult(
        ctx,
        `result.${format}`,
        (m) => m.describe.files?.[format] !== undefined,
      );
      ctx.set('Content-Security-Policy', "default-src 'none'");
      // The id is a job's that was found: `<queue>-<uuid>`, nothing to quote in a header.
      ctx.set('Content-Disposition', `attachment; filename="${param(ctx, 'id')}-result.${format}"`);
      ctx.type = resultFileTypes[format];
      // Stryker disable next-line OptionalChaining: equivalent, completedResult checked that the kind has the file
      ctx.body = manifest.describe.files?.[format]?.(result);
    });
  }

  return router;
}
