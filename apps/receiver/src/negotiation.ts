import type { Context } from 'koa';

/** A named route parameter as text (koa-router types `ctx.params` loosely). */
export function param(ctx: Context, name: string): string {
  const params = ctx['params'] as Record<string, unknown> | undefined;
  const value = params?.[name];
  return typeof value === 'string' ? value : '';
}

/** Browsers (form posts, a tab opened on a link) ask for HTML first; XHR and curl get JSON. */
export function wantsHtml(ctx: Context): boolean {
  return ctx.accepts('json', 'html') === 'html';
}

/**
 * The answer to an accepted action or cancel: a browser follows a 303 to the job's status page; a program
 * gets 202 with that page in Location and `body` as JSON.
 */
export function answerAccepted(
  ctx: Context,
  statusUrl: string,
  body: Record<string, unknown>,
  options: { retryAfterSeconds?: number } = {},
): void {
  if (wantsHtml(ctx)) {
    ctx.redirect(statusUrl);
    ctx.status = 303;
    return;
  }
  ctx.status = 202;
  ctx.set('Location', statusUrl);
  if (options.retryAfterSeconds !== undefined) ctx.set('Retry-After', String(options.retryAfterSeconds));
  ctx.body = body;
}
