import type { Middleware } from 'koa';

/**
 * Headers every answer carries: no content sniffing, no Referer to other sites (status URLs may carry a
 * capability), and for HTML a policy that runs no script, loads nothing remote and says who may frame it
 * (FRAME_ANCESTORS). A route that sets its own policy (result pages) keeps it, with `frame-ancestors` added.
 * Outermost middleware, so error answers get them too.
 */
export function securityHeaders(frameAncestors: readonly string[]): Middleware {
  const ancestors = `frame-ancestors ${frameAncestors.join(' ')}`;
  const pagePolicy = `default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'self'; ${ancestors}`;
  const unframed = frameAncestors.length === 1 && frameAncestors[0] === "'none'";
  return async (ctx, next) => {
    try {
      await next();
    } finally {
      // An answer already streaming (Server-Sent Events) has sent its headers with it.
      if (!ctx.headerSent) {
        ctx.set('X-Content-Type-Options', 'nosniff');
        ctx.set('Referrer-Policy', 'no-referrer');
        if (ctx.response.is('html') !== false) {
          // Koa answers undefined, not '', for a header that is not set.
          const set: unknown = ctx.response.get('Content-Security-Policy');
          const own = typeof set === 'string' && set !== '' ? set : undefined;
          const policy =
            own === undefined ? pagePolicy : /frame-ancestors/.test(own) ? own : `${own}; ${ancestors}`;
          ctx.set('Content-Security-Policy', policy);
          if (unframed) ctx.set('X-Frame-Options', 'DENY');
        }
      }
    }
  };
}
