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
