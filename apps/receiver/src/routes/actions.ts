import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { koaBody } from 'koa-body';
import {
  jobKinds,
  normalizeKitsuRequest,
  preview,
  type ActionRequest,
  type CatalogueAction,
  type RawRequest,
  type RequestMode,
} from '@kitsu-actions/shared';
import { findAction, type AppDeps } from '../deps.ts';
import { HttpProblem } from '../errors.ts';
import type { Caller, Credentials } from '../identity.ts';
import { param, wantsHtml } from '../negotiation.ts';

/** Headers that carry credentials: used for identity, never stored with a job. */
const secretHeaders = new Set(['cookie', 'authorization', 'proxy-authorization', 'x-kitsu-actions-token']);

/** The query parameter of the shared secret (AUTH_MODE=token): used for identity, never stored. */
const tokenParam = 'token';

const acceptedTypes = ['json', 'urlencoded', 'multipart'];

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
    const length = ctx.request.length;
    if (length !== undefined && length > limitBytes) {
      throw new HttpProblem(
        413,
        'payload_too_large',
        `The request body is larger than the limit of ${limitBytes} bytes.`,
      );
    }
    const hasBody = (length ?? 0) > 0 || ctx.get('Transfer-Encoding') !== '';
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

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The caller, refusing a cookie-authenticated request that another site made the browser send: the
 * session cookie goes along with any form post, so a page elsewhere could run actions as the person
 * (cross-site request forgery). Kitsu's own pages send their origin; a bearer token cannot be forged so.
 */
export async function identifyCaller(deps: AppDeps, ctx: Context): Promise<Caller> {
  const credentials = credentialsOf(ctx);
  const caller = await deps.identity.identify(credentials);
  const origin = ctx.get('Origin');
  if (caller.mode === 'zou-session' && credentials.sessionCookie !== undefined && origin !== '') {
    const allowed = new Set([...deps.config.kitsuOrigins, new URL(deps.config.publicUrl).origin]);
    if (!allowed.has(origin)) {
      throw new HttpProblem(
        403,
        'cross_site_request',
        `This request was sent from ${preview(origin, 100)}, which is neither Kitsu (KITSU_ORIGINS) nor this service; nothing was done. Run the action from Kitsu.`,
      );
    }
  }
  return caller;
}

/** What the request carries that may prove who sent it (cookie, bearer, shared token). */
export function credentialsOf(ctx: Context): Credentials {
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(ctx.get('Authorization'))?.[1];
  const cookie = ctx.cookies.get('access_token_cookie');
  const fromQuery = ctx.query[tokenParam];
  const sharedTokens = [
    ctx.get('X-Kitsu-Actions-Token'),
    ...(Array.isArray(fromQuery) ? fromQuery : [fromQuery]),
  ].filter((token): token is string => typeof token === 'string' && token !== '');
  return {
    ...(cookie === undefined || cookie === '' ? {} : { sessionCookie: cookie }),
    ...(bearer === undefined ? {} : { bearer }),
    sharedTokens,
  };
}

/** The URL as received, minus the shared secret (any `token=` query parameter). */
function urlWithoutToken(url: string): string {
  const at = url.indexOf('?');
  if (at < 0) return url;
  const kept = url
    .slice(at + 1)
    .split('&')
    .filter((part) => {
      const name = part.split('=')[0] ?? '';
      try {
        return decodeURIComponent(name.replace(/\+/g, ' ')) !== tokenParam;
      } catch {
        // Not decodable: it cannot be the token parameter, keep it as sent.
        return true;
      }
    });
  return kept.length === 0 ? url.slice(0, at) : `${url.slice(0, at)}?${kept.join('&')}`;
}

/** Under zou-session, the session's person replaces the payload's; a payload naming someone else is refused. */
function asCaller(request: ActionRequest, caller: Caller): ActionRequest {
  if (caller.mode !== 'zou-session') return { ...request, identity: { mode: caller.mode } };
  const { person } = caller;
  if (request.personId !== person.id.toLowerCase()) {
    const name = person.full_name ?? `${person.first_name} ${person.last_name}`;
    throw new HttpProblem(
      403,
      'identity_mismatch',
      `The request says it comes from person ${request.personId} but the Kitsu session is ${name} (${person.id}); nothing was queued. Reload Kitsu and run the action again.`,
      { claimed: request.personId, session: person.id },
    );
  }
  const rest: ActionRequest = { ...request };
  delete rest.personEmail;
  return {
    ...rest,
    personId: person.id.toLowerCase(),
    ...(typeof person.email === 'string' && person.email !== '' ? { personEmail: person.email } : {}),
    identity: { mode: 'zou-session', role: person.role },
  };
}

function rawRequest(ctx: Context, fields: Record<string, unknown>): RawRequest {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(ctx.headers)) {
    if (value === undefined || secretHeaders.has(name)) continue;
    headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  const unparsed = (ctx.request as { rawBody?: unknown }).rawBody;
  return {
    method: ctx.method,
    url: urlWithoutToken(ctx.originalUrl),
    headers,
    ...(ctx.get('Content-Type') ? { contentType: ctx.get('Content-Type') } : {}),
    body: typeof unparsed === 'string' ? unparsed : '',
    fields,
  };
}

function modeOf(ctx: Context): RequestMode {
  if (ctx.method === 'GET') return 'get';
  return ctx.is('json') ? 'ajax' : 'form';
}

export function actionsRouter(deps: AppDeps): Router {
  const router = new Router();
  const { publicUrl, requests } = deps.config;
  const { authorizer } = deps;

  const accept: Middleware = async (ctx) => {
    const action = actionOf(deps, ctx);
    const caller = await identifyCaller(deps, ctx);
    const mode = modeOf(ctx);
    const body: unknown = mode === 'get' ? ctx.query : ((ctx.request as { body?: unknown }).body ?? {});
    if (!isRecord(body)) {
      throw new HttpProblem(
        400,
        'invalid_body',
        `The request body must be an object of Kitsu's fields, got ${preview(body)}.`,
      );
    }
    // The shared secret is a credential, not a field: it is neither read as one nor kept.
    const fields = Object.fromEntries(Object.entries(body).filter(([name]) => name !== tokenParam));
    const normalized = normalizeKitsuRequest(fields, {
      actionId: action.id,
      actionName: action.name,
      mode,
      maxSelection: requests.maxSelection,
      receivedAt: new Date(),
      ...(caller.mode === 'zou-session' ? { verifiedPersonId: caller.person.id.toLowerCase() } : {}),
    });
    const request = await authorizer.authorize(action, asCaller(normalized, caller), caller);
    const raw = jobKinds[action.kind].keepRawRequest ? rawRequest(ctx, fields) : undefined;
    const { id, deduplicated } = await deps.queues.enqueue(action, request, raw);
    const statusUrl = `${publicUrl}/jobs/${id}`;
    // A double click returns the first job, which may already be running or done.
    const state = deduplicated ? ((await deps.queues.find(id))?.view.state ?? 'queued') : 'queued';
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
    if (wantsHtml(ctx)) {
      ctx.redirect(statusUrl);
      ctx.status = 303;
      return;
    }
    ctx.status = 202;
    ctx.set('Location', statusUrl);
    ctx.set('Retry-After', String(deps.config.statusRefreshSeconds));
    ctx.body = { jobId: id, state, statusUrl, deduplicated };
  };

  router.get('/actions', (ctx) => {
    ctx.body = {
      actions: deps.catalogue.actions.map((action) => ({
        id: action.id,
        name: action.name,
        kind: action.kind,
        entityType: action.entityType,
        ajax: action.ajax,
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
      text: false,
      jsonStrict: true,
      includeUnparsed: true,
      jsonLimit: requests.bodyLimitBytes,
      formLimit: requests.bodyLimitBytes,
      formidable: { maxFiles: 0, maxFieldsSize: requests.bodyLimitBytes, allowEmptyFiles: false },
    }),
    accept,
  );
  router.get('/actions/:actionId', accept);
  return router;
}
