import type { z } from 'zod';
import { ZouAuthError, ZouError, ZouNetworkError, ZouResponseError } from './errors.ts';
import { LoginResponse, RefreshResponse, ZouErrorBody } from './schemas.ts';
import { Semaphore } from './semaphore.ts';
import {
  RetryableAnswer,
  isNotSent,
  networkReason,
  parseRetryAfter,
  retrying,
  type HttpAnswer,
} from '@kitsu-actions/shared';

/** The subset of a pino logger this package uses. */
export interface ZouLogger {
  debug(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
}

/**
 * How the client authenticates.
 * - `{ token }`: a bot's non-expiring token (preferred for workers).
 * - `{ email, password }`: logs in on the first request, refreshes on 401, logs in again if that fails.
 */
export type ZouAuth = { token: string } | { email: string; password: string };

export interface ZouTransportOptions {
  /**
   * Base of every route: `https://kitsu.example.com/api` behind Kitsu's nginx, or a bare Zou such as
   * `http://zou:5000`. Routes are appended as is (`<base>/data/tasks/<id>`); trailing slashes are dropped.
   */
  baseUrl: string;
  auth: ZouAuth;
  /** Per attempt, including reading the body. Default 30 s. */
  timeoutMs?: number;
  /** Extra attempts after the first for network errors and 5xx. Default 3. 4xx are never retried. */
  retries?: number;
  /** First backoff delay; doubles per attempt, with jitter. Default 250 ms. */
  retryBaseDelayMs?: number;
  /** Cap on one backoff delay. Default 10 s. */
  retryMaxDelayMs?: number;
  /** A `Retry-After` longer than this is not waited for: the error is thrown instead. Default 60 s. */
  maxRetryAfterMs?: number;
  /** Maximum requests in flight at once for this client. Default 8. */
  concurrency?: number;
  logger?: ZouLogger;
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** Whose credentials a request carries. */
export type RequestAuth =
  { kind: 'client' } | { kind: 'user'; token: string; via: 'cookie' | 'bearer' } | { kind: 'none' };

export interface ZouRequest<S extends z.ZodType> {
  method: HttpMethod;
  /** Relative to the base URL, no leading slash: `data/tasks/<id>`. */
  route: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /** Parses the 2xx body; `null` when no body is expected (204). */
  schema: S | null;
  auth?: RequestAuth;
  /**
   * Whether repeating the request is harmless. Defaults to false for POST: a POST is then retried only
   * when it provably never reached Zou (connection refused, DNS) or on 503.
   */
  idempotent?: boolean;
  /** Aborts the request (and its retries); the abort reason is thrown as is. */
  signal?: AbortSignal;
}

// What a JWT may contain: guards headers and the cookie against injection.
const TOKEN_PATTERN = /^[A-Za-z0-9_\-.]+$/;

export function isWellFormedToken(token: string): boolean {
  return TOKEN_PATTERN.test(token) && token.split('.').length === 3;
}

export class ZouTransport {
  readonly baseUrl: string;
  readonly #auth: ZouAuth;
  readonly #timeoutMs: number;
  readonly #retries: number;
  readonly #retryBaseDelayMs: number;
  readonly #retryMaxDelayMs: number;
  readonly #maxRetryAfterMs: number;
  readonly #semaphore: Semaphore;
  readonly #logger: ZouLogger | undefined;
  #accessToken: string | null = null;
  #refreshToken: string | null = null;
  #renewing: Promise<string> | null = null;

  constructor(options: ZouTransportOptions) {
    let parsed: URL;
    try {
      parsed = new URL(options.baseUrl);
    } catch (error) {
      throw new TypeError(`Zou base URL "${options.baseUrl}" is not a valid URL`, { cause: error });
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new TypeError(`Zou base URL "${options.baseUrl}" must be http:// or https://`);
    }
    if (parsed.search !== '' || parsed.hash !== '') {
      throw new TypeError(`Zou base URL "${options.baseUrl}" must not carry a query or a fragment`);
    }
    this.baseUrl = `${parsed.origin}${parsed.pathname.replace(/\/+$/, '')}`;
    this.#auth = options.auth;
    if ('token' in options.auth) {
      if (!isWellFormedToken(options.auth.token)) {
        throw new TypeError('Zou bot token is not a JWT (expected three base64url parts)');
      }
      this.#accessToken = options.auth.token;
    }
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#retries = options.retries ?? 3;
    this.#retryBaseDelayMs = options.retryBaseDelayMs ?? 250;
    this.#retryMaxDelayMs = options.retryMaxDelayMs ?? 10_000;
    this.#maxRetryAfterMs = options.maxRetryAfterMs ?? 60_000;
    this.#semaphore = new Semaphore(options.concurrency ?? 8);
    this.#logger = options.logger;
  }

  /** Sends one request (with retries and, for client auth, one renewal on 401) and parses the answer. */
  async request<S extends z.ZodType>(req: ZouRequest<S>): Promise<z.infer<S>> {
    const auth = req.auth ?? { kind: 'client' };
    let renewed = false;
    for (;;) {
      const token = auth.kind === 'client' ? await this.#clientToken() : null;
      const answer = await this.#send(req, auth, token);
      if (answer.status === 401 && auth.kind === 'client' && !renewed && 'password' in this.#auth) {
        renewed = true;
        await this.#renew(token);
        continue;
      }
      if (answer.status >= 400) {
        const init = this.#errorInit(req, answer);
        if (auth.kind === 'client' && (answer.status === 401 || answer.status === 422)) {
          throw new ZouAuthError(init, 'token' in this.#auth ? 'the bot token' : 'the session token');
        }
        throw new ZouError(init);
      }
      return this.#parse(req, answer);
    }
  }

  /** Sends and returns the raw status + parsed JSON, without throwing on 4xx (used by `authenticated`). */
  async requestRaw(req: Omit<ZouRequest<z.ZodType>, 'schema'>): Promise<{ status: number; body: unknown }> {
    const auth = req.auth ?? { kind: 'client' };
    const token = auth.kind === 'client' ? await this.#clientToken() : null;
    const answer = await this.#send(req, auth, token);
    return { status: answer.status, body: parseJson(answer.text) };
  }

  /** Message Zou put in an error body, if any. */
  zouMessageOf(body: unknown): string | null {
    const parsed = ZouErrorBody.safeParse(body);
    if (!parsed.success) return null;
    return parsed.data.message ?? parsed.data.msg ?? null;
  }

  async #clientToken(): Promise<string> {
    if (this.#accessToken !== null) return this.#accessToken;
    return this.#renew(null);
  }

  /** Single-flight: concurrent 401s share one refresh/login. `stale` is the token that was refused. */
  async #renew(stale: string | null): Promise<string> {
    if (this.#accessToken !== null && this.#accessToken !== stale) return this.#accessToken;
    this.#renewing ??= this.#refreshOrLogin().finally(() => {
      this.#renewing = null;
    });
    return this.#renewing;
  }

  async #refreshOrLogin(): Promise<string> {
    if (!('password' in this.#auth)) throw new Error('unreachable: bot tokens are never renewed');
    const refreshToken = this.#refreshToken;
    this.#accessToken = null;
    if (refreshToken !== null) {
      const req = { method: 'GET', route: 'auth/refresh-token', idempotent: true } as const;
      const answer = await this.#send(req, { kind: 'user', token: refreshToken, via: 'bearer' }, null);
      if (answer.status < 400) {
        const body = this.#parse({ ...req, schema: RefreshResponse }, answer);
        this.#accessToken = body.access_token;
        this.#logger?.debug({ baseUrl: this.baseUrl }, 'zou session refreshed');
        return body.access_token;
      }
      if (answer.status !== 401 && answer.status !== 422) throw new ZouError(this.#errorInit(req, answer));
      this.#logger?.debug(
        { baseUrl: this.baseUrl, status: answer.status },
        'zou refresh refused, logging in',
      );
    }
    const { email, password } = this.#auth;
    // Logging in twice is harmless, so the login POST may be retried like a GET.
    const req = { method: 'POST', route: 'auth/login', body: { email, password }, idempotent: true } as const;
    const answer = await this.#send(req, { kind: 'none' }, null);
    if (answer.status >= 400) {
      const init = this.#errorInit(req, answer);
      throw new ZouAuthError(
        { ...init, zouMessage: init.zouMessage ?? 'wrong email or password' },
        `the login for ${email}`,
      );
    }
    const body = this.#parse({ ...req, schema: LoginResponse }, answer);
    this.#accessToken = body.access_token;
    this.#refreshToken = body.refresh_token;
    this.#logger?.debug({ baseUrl: this.baseUrl, personId: body.user.id }, 'zou login');
    return body.access_token;
  }

  /** One request with its retries: an answer below 500, else ZouError (5xx) or ZouNetworkError. */
  async #send(
    req: Omit<ZouRequest<z.ZodType>, 'schema'>,
    auth: RequestAuth,
    clientToken: string | null,
  ): Promise<HttpAnswer> {
    const url = this.#url(req);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (auth.kind === 'client' && clientToken !== null) headers.authorization = `Bearer ${clientToken}`;
    if (auth.kind === 'user') {
      if (auth.via === 'cookie') headers.cookie = `access_token_cookie=${auth.token}`;
      else headers.authorization = `Bearer ${auth.token}`;
    }
    let payload: string | undefined;
    if (req.body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(req.body);
    }
    const idempotent = req.idempotent ?? req.method !== 'POST';
    const route = `/${req.route}`;
    return retrying(
      async (attempt) => {
        const started = performance.now();
        const answer = await this.#semaphore.run(async () => {
          req.signal?.throwIfAborted();
          const timeout = AbortSignal.timeout(this.#timeoutMs);
          const res = await fetch(url, {
            method: req.method,
            headers,
            ...(payload === undefined ? {} : { body: payload }),
            signal: req.signal === undefined ? timeout : AbortSignal.any([req.signal, timeout]),
          });
          return { status: res.status, headers: res.headers, text: await res.text() };
        });
        const ms = Math.round(performance.now() - started);
        this.#logger?.debug({ method: req.method, route, status: answer.status, ms, attempt }, 'zou request');
        if (answer.status >= 500) throw new RetryableAnswer(answer);
        return answer;
      },
      {
        retries: this.#retries,
        baseDelayMs: this.#retryBaseDelayMs,
        maxDelayMs: this.#retryMaxDelayMs,
        maxRetryAfterMs: this.#maxRetryAfterMs,
        signal: req.signal,
        shouldRetry: (error) => {
          if (!(error instanceof RetryableAnswer)) {
            return idempotent || isNotSent(error) ? 'retry' : 'give-up';
          }
          if (!idempotent && error.answer.status !== 503) return 'give-up';
          const retryAfterMs = parseRetryAfter(error.answer.headers.get('retry-after'));
          return retryAfterMs === null ? 'retry' : { retryAfterMs };
        },
        onRetry: ({ error, attempt, waitMs }) => {
          if (error instanceof RetryableAnswer) {
            this.#logger?.warn(
              { method: req.method, route, status: error.answer.status, attempt, waitMs },
              'zou answered a server error, retrying',
            );
          } else {
            this.#logger?.warn(
              { method: req.method, route, attempt, waitMs, reason: this.#networkReason(error) },
              'zou unreachable, retrying',
            );
          }
        },
        giveUp: (error, attempts) => {
          if (error instanceof RetryableAnswer) {
            return new ZouError(this.#errorInit(req, error.answer));
          }
          return new ZouNetworkError({
            baseUrl: this.baseUrl,
            method: req.method,
            route,
            reason: this.#networkReason(error),
            attempts,
            cause: error,
          });
        },
      },
    );
  }

  #url(req: Pick<ZouRequest<z.ZodType>, 'route' | 'query'>): string {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(req.query ?? {})) {
      if (value !== undefined) search.set(key, String(value));
    }
    const qs = search.toString();
    return `${this.baseUrl}/${req.route}${qs === '' ? '' : `?${qs}`}`;
  }

  #networkReason(error: unknown): string {
    return networkReason(error, this.#timeoutMs);
  }

  #errorInit(req: Pick<ZouRequest<z.ZodType>, 'method' | 'route'>, answer: HttpAnswer) {
    const body = parseJson(answer.text);
    let zouMessage = this.zouMessageOf(body);
    if (zouMessage === null && body === undefined && answer.text.trim() !== '') {
      // Not JSON (an nginx error page, say): keep a short, single-line excerpt.
      zouMessage = answer.text
        .replace(/<[^>]*>/g, ' ')
        .replace(/\s+/g, ' ')
        .trim()
        .slice(0, 200);
    }
    return {
      baseUrl: this.baseUrl,
      method: req.method,
      route: `/${req.route}`,
      status: answer.status,
      zouMessage,
    };
  }

  #parse<S extends z.ZodType>(
    req: Pick<ZouRequest<S>, 'method' | 'route' | 'schema'>,
    answer: HttpAnswer,
  ): z.infer<S> {
    const init = { baseUrl: this.baseUrl, method: req.method, route: `/${req.route}`, status: answer.status };
    if (req.schema === null) return undefined as z.infer<S>;
    const body = parseJson(answer.text);
    if (body === undefined) {
      throw new ZouResponseError({ ...init, problem: 'the body is not JSON' });
    }
    const parsed = req.schema.safeParse(body);
    if (!parsed.success) {
      throw new ZouResponseError({ ...init, problem: summarizeIssues(parsed.error) });
    }
    return parsed.data;
  }
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // Not JSON: callers treat `undefined` as "no usable body".
    return undefined;
  }
}

function summarizeIssues(error: z.ZodError): string {
  const shown = error.issues.slice(0, 3).map((issue) => {
    const path = issue.path.length === 0 ? '(root)' : issue.path.map(String).join('.');
    return `${path}: ${issue.message}`;
  });
  const more = error.issues.length > 3 ? ` (+${String(error.issues.length - 3)} more)` : '';
  return `${shown.join('; ')}${more}`;
}
