import type { Context, Middleware } from 'koa';
import { preview } from '@kitsu-actions/shared';
import type { AppDeps } from './deps.ts';
import { HttpProblem } from './errors.ts';
import type { Caller, Credentials } from './identity.ts';
import { tokenParam } from './raw-request.ts';

/** What the identity middleware leaves in `ctx.state` for the route after it. */
export interface CallerState {
  caller: Caller;
}

/**
 * The same for job reads, where under AUTH_MODE=token a job's own link (`?cap=`) may stand in for the
 * token: `caller` is then undefined, and the route checks the capability.
 */
export interface ReaderState {
  caller: Caller | undefined;
}

type IdentityDeps = Pick<AppDeps, 'identity' | 'config'>;

/** Methods that change nothing: the cross-site rules are for requests that act. */
const safeMethods: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

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

/** The origins a cookie-authenticated request may come from: Kitsu's (KITSU_ORIGINS) and this service's. */
function allowedOrigins(deps: IdentityDeps): Set<string> {
  return new Set([...deps.config.kitsuOrigins, new URL(deps.config.publicUrl).origin]);
}

/**
 * A request carrying Kitsu's session cookie must come from Kitsu (or this service's own pages): the
 * browser sends the cookie with any form post or link another site makes it send (cross-site request
 * forgery). Refused: the browser saying so (`Sec-Fetch-Site: cross-site`); an `Origin`, else a `Referer`,
 * that is not an allowed origin; and a request that changes something with neither.
 */
function checkSameSite(deps: IdentityDeps, ctx: Context): void {
  const refuse = (message: string, code = 'cross_site_request'): never => {
    throw new HttpProblem(403, code, `${message} Nothing was done; run the action from Kitsu.`);
  };
  if (ctx.get('Sec-Fetch-Site').toLowerCase() === 'cross-site') {
    refuse('The browser says another site sent this request (Sec-Fetch-Site: cross-site).');
  }
  const allowed = allowedOrigins(deps);
  const origin = ctx.get('Origin');
  if (origin !== '') {
    if (!allowed.has(origin)) {
      refuse(
        `This request was sent from ${preview(origin, 100)}, which is neither Kitsu (KITSU_ORIGINS) nor this service.`,
      );
    }
    return;
  }
  const referer = ctx.get('Referer');
  if (referer !== '') {
    let from: string;
    try {
      from = new URL(referer).origin;
    } catch {
      from = preview(referer, 100);
    }
    if (!allowed.has(from)) {
      refuse(
        `This request came from a page of ${from}, which is neither Kitsu (KITSU_ORIGINS) nor this service.`,
      );
    }
    return;
  }
  if (!safeMethods.has(ctx.method)) {
    refuse(
      "This request carries Kitsu's session cookie but neither Origin nor Referer, so nothing shows that Kitsu sent it (a proxy in front must pass both on).",
      'origin_required',
    );
  }
}

/**
 * The caller. A request that acts (a run, a cancel: `acting`) and is authenticated by Kitsu's session
 * cookie must pass the same-site checks first; a bearer token cannot be made to travel by another site,
 * and reads change nothing (and CORS keeps their answer from it).
 */
function callerOf(deps: IdentityDeps, ctx: Context, acting: boolean): Promise<Caller> {
  const credentials = credentialsOf(ctx);
  if (acting && deps.identity.mode === 'zou-session' && credentials.sessionCookie !== undefined) {
    checkSameSite(deps, ctx);
  }
  return deps.identity.identify(credentials);
}

/**
 * Sets `ctx.state.caller` for the route after it, or refuses the request: 401 (no or bad credentials),
 * 403 (cross-site), 503 (Kitsu cannot be reached to check a session).
 */
export function identifyCaller(deps: IdentityDeps, options: { acting: boolean }): Middleware<CallerState> {
  return async (ctx, next) => {
    ctx.state.caller = await callerOf(deps, ctx, options.acting);
    await next();
  };
}

/**
 * As identifyCaller, for the routes that read or cancel a job: under AUTH_MODE=token a request without
 * the token goes on unidentified, for the route to check the job's capability (`?cap=`) instead.
 */
export function identifyReader(deps: IdentityDeps, options: { acting: boolean }): Middleware<ReaderState> {
  return async (ctx, next) => {
    const byCapability = deps.identity.mode === 'token' && credentialsOf(ctx).sharedTokens.length === 0;
    ctx.state.caller = byCapability ? undefined : await callerOf(deps, ctx, options.acting);
    await next();
  };
}
