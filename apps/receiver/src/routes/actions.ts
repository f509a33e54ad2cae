import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { koaBody } from 'koa-body';
import {
  jobKinds,
  normalizeKitsuRequest,
  preview,
  type CatalogueAction,
  type RawRequest,
  type RequestMode,
} from '@kitsu-actions/shared';
import { findAction, type AppDeps } from '../deps.ts';
import { HttpProblem } from '../errors.ts';
import { param, wantsHtml } from '../negotiation.ts';

/** Headers that carry credentials: used for identity, never stored with a job. */
const secretHeaders = new Set(['cookie', 'authorization', 'proxy-authorization', 'x-kitsu-actions-token']);

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

function rawRequest(ctx: Context, fields: Record<string, unknown>): RawRequest {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(ctx.headers)) {
    if (value === undefined || secretHeaders.has(name)) continue;
    headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  const unparsed = (ctx.request as { rawBody?: unknown }).rawBody;
  return {
    method: ctx.method,
    url: ctx.originalUrl,
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

  const accept: Middleware = async (ctx) => {
    const action = actionOf(deps, ctx);
    const mode = modeOf(ctx);
    const body: unknown = mode === 'get' ? ctx.query : ((ctx.request as { body?: unknown }).body ?? {});
    if (!isRecord(body)) {
      throw new HttpProblem(
        400,
        'invalid_body',
        `The request body must be an object of Kitsu's fields, got ${preview(body)}.`,
      );
    }
    const request = normalizeKitsuRequest(body, {
      actionId: action.id,
      actionName: action.name,
      mode,
      maxSelection: requests.maxSelection,
      receivedAt: new Date(),
    });
    const raw = jobKinds[action.kind].keepRawRequest ? rawRequest(ctx, body) : undefined;
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
