import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { Writable } from 'node:stream';
import { koaBody } from 'koa-body';
import {
  formatBytes,
  jobDataOf,
  jobKinds,
  jsonBytes,
  normalizeKitsuRequest,
  preview,
  type CatalogueAction,
  type JobState,
  type RawRequest,
  type RequestMode,
  type VerifiedRequest,
} from '@kitsu-actions/shared';
import { credentialsOf, identifyCaller, type CallerState } from '../caller.ts';
import { findAction, type AppDeps } from '../deps.ts';
import { HttpProblem } from '../errors.ts';
import { bindCaller } from '../identity.ts';
import { answerAccepted, param, wantsHtml } from '../negotiation.ts';
import { actionsPage } from '../pages/landing.ts';
import { rawRequestCopy, redactor } from '../raw-request.ts';

const acceptedTypes = ['json', 'urlencoded', 'multipart'];

/** Most fields a form (urlencoded or multipart) may have; Kitsu sends about ten. */
export const maxFields = 1000;

/** Deepest nesting of a JSON body: Kitsu's is two levels deep (an object holding the selection list). */
export const maxJsonDepth = 32;

function actionOf(deps: AppDeps, ctx: Context): CatalogueAction {
  const id = param(ctx, 'actionId');
  const action = findAction(deps.catalogue, id);
  if (!action) {
    const known = deps.catalogue.actions.map((entry) => entry.id).join(', ') || 'none';
    throw new HttpProblem(
      404,
      'unknown_action',
      `There is no action "${preview(id, 80)}" here (known actions: ${known}).`,
    );
  }
  return action;
}

/** Refuses what Kitsu never sends before any byte is parsed. */
function checkBody(limitBytes: number): Middleware {
  return async (ctx, next) => {
    // No Content-Length (a chunked body) counts as 0 here; koa-body then counts the bytes as they come.
    const length = ctx.request.length ?? 0;
    if (length > limitBytes) {
      throw new HttpProblem(
        413,
        'payload_too_large',
        `The request body is larger than the limit of ${limitBytes} bytes.`,
      );
    }
    const hasBody = length > 0 || ctx.get('Transfer-Encoding') !== '';
    if (hasBody && !ctx.is(acceptedTypes)) {
      const type = ctx.get('Content-Type') || 'none';
      throw new HttpProblem(
        415,
        'unsupported_media_type',
        `Content-Type "${preview(type, 80)}" is not accepted; send application/json, application/x-www-form-urlencoded or multipart/form-data as Kitsu does.`,
      );
    }
    await next();
  };
}

/**
 * How deeply `value` nests, counted without recursion (a body within BODY_LIMIT has a bounded number of
 * values, so the walk is bounded too).
 */
function depthOf(value: unknown): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 1]];
  for (let entry = stack.pop(); entry !== undefined; entry = stack.pop()) {
    const [item, depth] = entry;
    if (typeof item !== 'object' || item === null) continue;
    deepest = Math.max(deepest, depth);
    for (const child of Object.values(item)) stack.push([child, depth + 1]);
  }
  return deepest;
}

/** The credentials this request may carry anywhere (header, body, URL), to be kept out of its job. */
function secretsOf(deps: AppDeps, ctx: Context): string[] {
  const credentials = credentialsOf(ctx);
  return [
    deps.config.auth.actionsToken,
    credentials.sessionCookie,
    credentials.bearer,
    ...credentials.sharedTokens,
  ].filter((secret): secret is string => secret !== undefined);
}

/** The request as received, for the debug page: no credential anywhere, at most RAW_REQUEST_LIMIT. */
function rawRequest(deps: AppDeps, ctx: Context, fields: Record<string, unknown>): RawRequest {
  const unparsed = (ctx.request as { rawBody?: unknown }).rawBody;
  return rawRequestCopy(
    {
      method: ctx.method,
      url: ctx.originalUrl,
      headers: ctx.headers,
      ...(ctx.get('Content-Type') ? { contentType: ctx.get('Content-Type') } : {}),
      body: typeof unparsed === 'string' ? unparsed : '',
      fields,
    },
    { secrets: secretsOf(deps, ctx), limitBytes: deps.config.storage.rawRequestBytes },
  );
}

/** The page the request names (free text from the browser) without a credential in it. */
function withoutSecrets(request: VerifiedRequest, redact: (text: string) => string): VerifiedRequest {
  const { server, path } = request.origin;
  return {
    ...request,
    origin: {
      ...(server === undefined ? {} : { server: redact(server) }),
      ...(path === undefined ? {} : { path: redact(path) }),
    },
  };
}

function modeOf(ctx: Context): RequestMode {
  if (ctx.method === 'GET') return 'get';
  return ctx.is('json') ? 'ajax' : 'form';
}

/** What the middleware before `accept` leave in `ctx.state`: the action the URL names, then its caller. */
interface RunState extends CallerState {
  action: CatalogueAction;
}

export function actionsRouter(deps: AppDeps): Router {
  const router = new Router();
  const { publicUrl, requests } = deps.config;
  const { authorizer } = deps;

  /** 404 for an action the catalogue does not have, before anyone is asked who is calling. */
  const knownAction: Middleware<Pick<RunState, 'action'>> = async (ctx, next) => {
    ctx.state.action = actionOf(deps, ctx);
    await next();
  };
  const identified = identifyCaller(deps, { acting: true });

  const accept: Middleware<RunState> = async (ctx) => {
    const { action, caller } = ctx.state;
    const mode = modeOf(ctx);
    // The query, or what koa-body parsed: an object, or a JSON array (jsonStrict refuses a JSON null or
    // scalar as malformed_json before this).
    const body: unknown = mode === 'get' ? ctx.query : ((ctx.request as { body?: unknown }).body ?? {});
    if (Array.isArray(body)) {
      throw new HttpProblem(
        400,
        'invalid_body',
        `The request body must be an object of Kitsu's fields, got ${preview(body)}.`,
      );
    }
    // Refused here, before anything walks it: deeper values overflow the stack of whatever reads them.
    if (depthOf(body) > maxJsonDepth) {
      throw new HttpProblem(
        400,
        'too_deeply_nested',
        `The request body nests values more than ${maxJsonDepth} levels deep; Kitsu's requests are two levels deep. Nothing was queued.`,
      );
    }
    // The shared secret (`token`) is a credential, not a field: normalizeKitsuRequest reads only Kitsu's
    // fields, and the raw request's copy leaves it out.
    const fields = body as Record<string, unknown>;
    const normalized = normalizeKitsuRequest(fields, {
      actionId: action.id,
      actionName: action.name,
      mode,
      maxSelection: requests.maxSelection,
      receivedAt: new Date(),
      requirePerson: deps.identity.mode !== 'zou-session',
    });
    const claimed = bindCaller(normalized, caller);
    // Before the selection is checked with Kitsu: a flood from one person stops here.
    await deps.rateLimiter.hit('person', claimed.personId);
    const request = withoutSecrets(
      await authorizer.authorize(action, claimed, caller),
      redactor(secretsOf(deps, ctx)),
    );
    const raw = jobKinds[action.kind].keepRawRequest ? rawRequest(deps, ctx, fields) : undefined;
    const size = jsonBytes(jobDataOf(action, request, raw));
    if (size > deps.config.storage.jobDataBytes) {
      throw new HttpProblem(
        413,
        'too_large_to_store',
        `This request would be stored as ${formatBytes(size)} of job data, more than the ${formatBytes(deps.config.storage.jobDataBytes)} allowed (JOB_DATA_LIMIT); nothing was queued. Select fewer tasks.`,
        { bytes: size, limit: deps.config.storage.jobDataBytes },
      );
    }
    const { id, deduplicated } = await deps.queues.enqueue(action, request, raw);
    // Under AUTH_MODE=token it carries the job's capability: the link itself opens that job.
    const statusUrl = deps.links.href(id);
    let state: JobState = 'queued';
    if (deduplicated) {
      // A double click returns the first job, which may already be running or done (or, removed in the
      // moment between the two reads, is answered as queued: its status link then says it is gone).
      // Stryker disable next-line OptionalChaining,StringLiteral: not reached by a test, the job would have to be removed between the enqueue and this read
      state = (await deps.queues.status(id))?.state ?? 'queued';
    }
    deps.logger.info(
      {
        jobId: id,
        actionId: action.id,
        personId: request.personId,
        tasks: request.taskIds.length,
        mode,
        deduplicated,
      },
      deduplicated ? 'duplicate request: same job' : 'job queued',
    );
    answerAccepted(
      ctx,
      statusUrl,
      { jobId: id, state, statusUrl, deduplicated },
      { retryAfterSeconds: deps.config.statusRefreshSeconds },
    );
  };

  router.get('/actions', (ctx) => {
    if (ctx.query['format'] !== 'json' && wantsHtml(ctx)) {
      // Stryker disable next-line StringLiteral: equivalent, Koa types a string body that starts with < as HTML
      ctx.type = 'html';
      ctx.body = actionsPage({ publicUrl, catalogue: deps.catalogue, authMode: deps.config.auth.mode }).value;
      return;
    }
    ctx.body = {
      actions: deps.catalogue.actions.map((action) => ({
        id: action.id,
        name: action.name,
        kind: action.kind,
        entityType: action.entityType,
        ajax: action.ajax,
        method: action.method,
        url: `${publicUrl}/actions/${action.id}`,
      })),
    };
  });
  router.post(
    '/actions/:actionId',
    checkBody(requests.bodyLimitBytes),
    koaBody({
      json: true,
      urlencoded: true,
      multipart: true,
      // Stryker disable next-line BooleanLiteral: equivalent, checkBody has refused a text body already
      text: false,
      jsonStrict: true,
      includeUnparsed: true,
      jsonLimit: requests.bodyLimitBytes,
      formLimit: requests.bodyLimitBytes,
      // More fields than accepted, or a field repeated more often, is refused (qs drops them silently).
      queryString: { parameterLimit: maxFields, arrayLimit: maxFields, throwOnLimitExceeded: true },
      formidable: {
        maxFiles: 0,
        maxFields,
        maxFieldsSize: requests.bodyLimitBytes,
        // A file part is refused (maxFiles: 0); none of it is written to disk on the way.
        fileWriteStreamHandler: () =>
          // Stryker disable next-line ArrowFunction: equivalent, formidable refuses the part (maxFiles: 0) before it writes to the stream
          new Writable({ write: (_chunk, _encoding, done) => done() }),
      },
    }),
    knownAction,
    identified,
    accept,
  );
  /** Only actions whose catalogue entry says `method: get` run on GET; HEAD never runs one. */
  const runsOnGet: Middleware<Pick<RunState, 'action'>> = async (ctx, next) => {
    const { action } = ctx.state;
    if (action.method !== 'get') {
      throw new HttpProblem(
        405,
        'method_not_allowed',
        `"${action.name}" is run with POST, as Kitsu sends it; GET is served only for actions whose catalogue entry says method: get.`,
        undefined,
        { Allow: 'POST, OPTIONS' },
      );
    }
    if (ctx.method === 'HEAD') {
      throw new HttpProblem(
        405,
        // Stryker disable next-line StringLiteral: equivalent, the answer to a HEAD has no body to carry it
        'method_not_allowed',
        // Stryker disable next-line StringLiteral: equivalent, the answer to a HEAD has no body to carry it
        `HEAD would run "${action.name}"; send GET or POST.`,
        undefined,
        { Allow: 'GET, POST, OPTIONS' },
      );
    }
    await next();
  };
  router.get('/actions/:actionId', knownAction, runsOnGet, identified, accept);
  return router;
}
