import type { Context } from 'koa';

/** Browsers (form posts, a tab opened on a link) ask for HTML first; XHR and curl get JSON. */
export function wantsHtml(ctx: Context): boolean {
  return ctx.accepts('json', 'html') === 'html';
}
