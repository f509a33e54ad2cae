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
    /** Sent with the answer (e.g. `Retry-After` of a 429, `Allow` of a 405). */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'HttpProblem';
  }
}

interface KoaLikeError {
  status?: number;
  statusCode?: number;
  /** formidable's (multipart) errors carry their status here, and their own numeric `code`. */
  httpCode?: number;
  code?: unknown;
  type?: string;
  expose?: boolean;
  message?: string;
  limit?: number;
}

/** formidable's error codes (formidable/src/FormidableError.js) a client can cause. */
const multipartProblems: Record<number, { status: number; code: string; message: string }> = {
  1002: { status: 400, code: 'request_aborted', message: 'The request was aborted before its body ended.' },
  1006: {
    status: 413,
    code: 'payload_too_large',
    message: 'The form fields are larger than the body limit.',
  },
  1007: { status: 413, code: 'too_many_fields', message: 'The form has more fields than accepted.' },
  1012: {
    status: 400,
    code: 'malformed_multipart',
    message: 'The multipart body is truncated or malformed (its closing boundary is missing).',
  },
  1013: {
    status: 400,
    code: 'malformed_multipart',
    message:
      'The multipart Content-Type has no boundary; send multipart/form-data; boundary=… as browsers do.',
  },
  1014: {
    status: 400,
    code: 'malformed_multipart',
    message: 'Unknown transfer encoding of a multipart part.',
  },
  1015: {
    status: 400,
    code: 'file_not_accepted',
    message: 'The form carries a file; actions take fields only (Kitsu sends no file).',
  },
};

/** Errors thrown by koa-body/co-body/formidable/qs and koa-router carry a status; name them for people. */
function fromLibraryError(error: KoaLikeError, options: ProblemOptions): HttpProblem | undefined {
  const multipart = typeof error.code === 'number' ? multipartProblems[error.code] : undefined;
  if (multipart !== undefined && error.httpCode !== undefined) {
    const maxFields =
      multipart.code === 'too_many_fields' ? ` At most ${options.maxFields} are accepted.` : '';
    return new HttpProblem(multipart.status, multipart.code, `${multipart.message}${maxFields}`);
  }
  const status = error.status ?? error.statusCode ?? error.httpCode;
  if (status === 501) {
    // A method nothing here implements (TRACE, PROPFIND, …): not a fault of the receiver.
    return new HttpProblem(
      501,
      'not_implemented',
      'This method is not implemented here; the receiver answers GET, POST and OPTIONS.',
      undefined,
      { Allow: 'GET, HEAD, POST, OPTIONS' },
    );
  }
  if (status === undefined || status >= 500) return undefined;
  if (status === 413 || error.type === 'entity.too.large') {
    return new HttpProblem(
      413,
      'payload_too_large',
      `The request body is larger than the limit of ${options.bodyLimitBytes} bytes.`,
    );
  }
  // qs (urlencoded bodies) with throwOnLimitExceeded: more fields, or a longer repeated field, than accepted.
  if (/^(Parameter|Array) limit exceeded/.test(error.message ?? '')) {
    return new HttpProblem(
      413,
      'too_many_fields',
      `The form has more fields (or repeats one more often) than accepted: at most ${options.maxFields} fields.`,
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
  if (status === 405) {
    return new HttpProblem(405, 'method_not_allowed', error.message ?? 'Method not allowed');
  }
  return new HttpProblem(
    status,
    'bad_request',
    error.expose && error.message ? error.message : 'Bad request',
  );
}

interface ProblemOptions {
  bodyLimitBytes: number;
  maxFields: number;
}

function toProblem(error: unknown, options: ProblemOptions): HttpProblem | undefined {
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
  if (typeof error === 'object' && error !== null) return fromLibraryError(error, options);
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

/** koa-router answers a method no route has with an empty 405 or 501 (and `Allow`): say it in words. */
function emptyAnswer(status: number, method: string, path: string): void {
  if (status === 404) throw new HttpProblem(404, 'not_found', `Nothing here: ${method} ${path}`);
  if (status === 405) {
    throw new HttpProblem(405, 'method_not_allowed', `${method} is not allowed on ${path}.`);
  }
  if (status === 501) {
    throw new HttpProblem(
      501,
      'not_implemented',
      `${method} is not implemented here; the receiver answers GET, POST and OPTIONS.`,
    );
  }
}

/** First middleware: every failure becomes JSON `{ error: { code, message, details? } }` or a small page. */
export function errorHandler(options: { logger: Logger } & ProblemOptions): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.body === undefined || ctx.body === null) emptyAnswer(ctx.status, ctx.method, ctx.path);
    } catch (error) {
      let problem = toProblem(error, options);
      if (!problem) {
        options.logger.error({ err: error, method: ctx.method, path: ctx.path }, 'request failed');
        problem = new HttpProblem(
          500,
          'internal_error',
          "Internal error; the receiver's log has the details.",
        );
      } else if (problem.status >= 500 && problem.status !== 501) {
        options.logger.warn({ err: error, path: ctx.path }, problem.message);
      }
      ctx.status = problem.status;
      if (problem.status === 503) ctx.set('Retry-After', '5');
      if (problem.status === 401) ctx.set('WWW-Authenticate', 'Bearer realm="kitsu-actions"');
      for (const [name, value] of Object.entries(problem.headers)) ctx.set(name, value);
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
