import type { Middleware } from 'koa';
import { QueueUnavailableError, RequestProblem, type Logger } from '@kitsu-actions/shared';
import { ZouAuthError, ZouError } from '@kitsu-actions/zou';
import { errorPage } from './pages/error.ts';
import { wantsHtml } from './negotiation.ts';

/** An answer other than success, with a message a person understands. */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'HttpProblem';
  }
}

interface KoaLikeError {
  status?: number;
  statusCode?: number;
  type?: string;
  expose?: boolean;
  message?: string;
  limit?: number;
}

/** Errors thrown by koa-body/co-body and koa-router carry `status` and `type`; name them for people. */
function fromLibraryError(error: KoaLikeError, limitBytes: number): HttpProblem | undefined {
  const status = error.status ?? error.statusCode;
  if (status === undefined || status >= 500) return undefined;
  if (status === 413 || error.type === 'entity.too.large') {
    return new HttpProblem(
      413,
      'payload_too_large',
      `The request body is larger than the limit of ${limitBytes} bytes.`,
    );
  }
  if (error.type === 'entity.parse.failed' || /JSON/i.test(error.message ?? '')) {
    return new HttpProblem(
      400,
      'malformed_json',
      `The request body is not valid JSON: ${error.message ?? 'parse error'}`,
    );
  }
  if (status === 415)
    return new HttpProblem(415, 'unsupported_media_type', error.message ?? 'Unsupported content type');
  if (status === 405 || status === 501) {
    return new HttpProblem(405, 'method_not_allowed', error.message ?? 'Method not allowed');
  }
  return new HttpProblem(
    status,
    'bad_request',
    error.expose && error.message ? error.message : 'Bad request',
  );
}

function toProblem(error: unknown, limitBytes: number): HttpProblem | undefined {
  if (error instanceof HttpProblem) return error;
  if (error instanceof RequestProblem) {
    return new HttpProblem(error.code === 'too_many_tasks' ? 413 : 400, error.code, error.message, {
      ...(error.field ? { field: error.field } : {}),
    });
  }
  if (error instanceof QueueUnavailableError) {
    return new HttpProblem(
      503,
      'queue_unavailable',
      'The job queue is unavailable right now; nothing was queued. Try again in a few seconds.',
    );
  }
  if (error instanceof ZouError) return fromZouError(error);
  if (typeof error === 'object' && error !== null) return fromLibraryError(error, limitBytes);
  return undefined;
}

/** Kitsu failed while the receiver was checking the request: nothing was queued, say whose fault it is. */
function fromZouError(error: ZouError): HttpProblem {
  if (error.status === null || error.status >= 500) {
    return new HttpProblem(
      503,
      'kitsu_unavailable',
      'Kitsu could not be reached to check the request; nothing was queued. Try again in a moment.',
    );
  }
  if (error instanceof ZouAuthError) {
    return new HttpProblem(
      502,
      'kitsu_refused_bot',
      "Kitsu refused the receiver's bot token (KITSU_BOT_TOKEN); nothing was queued. A Kitsu admin must renew the bot's token.",
    );
  }
  return new HttpProblem(
    502,
    'kitsu_error',
    `Kitsu gave an unexpected answer while the request was checked (${error.message}); nothing was queued.`,
  );
}

/** First middleware: every failure becomes JSON `{ error: { code, message, details? } }` or a small page. */
export function errorHandler(options: { logger: Logger; bodyLimitBytes: number }): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        throw new HttpProblem(404, 'not_found', `Nothing here: ${ctx.method} ${ctx.path}`);
      }
    } catch (error) {
      let problem = toProblem(error, options.bodyLimitBytes);
      if (!problem) {
        options.logger.error({ err: error, method: ctx.method, path: ctx.path }, 'request failed');
        problem = new HttpProblem(
          500,
          'internal_error',
          "Internal error; the receiver's log has the details.",
        );
      } else if (problem.status >= 500) {
        options.logger.warn({ err: error, path: ctx.path }, problem.message);
      }
      ctx.status = problem.status;
      if (problem.status === 503) ctx.set('Retry-After', '5');
      if (problem.status === 401) ctx.set('WWW-Authenticate', 'Bearer realm="kitsu-actions"');
      if (wantsHtml(ctx)) {
        ctx.type = 'html';
        ctx.body = errorPage(problem.status, problem.message).value;
      } else {
        ctx.body = {
          error: {
            code: problem.code,
            message: problem.message,
            ...(problem.details === undefined ? {} : { details: problem.details }),
          },
        };
      }
    }
  };
}
