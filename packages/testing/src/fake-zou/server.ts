import { HttpFaults, matches, type RouteMatcher } from '../faults.ts';
import { listen, readBody } from '../listener.ts';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { HttpError } from './http.ts';
import type { Answer, FakeZouSettings, PublicCtx, Route } from './http.ts';
import type { FakeZouState, PersonRow, RequestLogEntry } from './model.ts';
import { noteWrite, routes } from './routes.ts';
import { buildSeed, createState } from './seed.ts';
import type { Seed, SeedIds, SeedOptions } from './seed.ts';
import { TokenStore } from './tokens.ts';

export interface FakeZouOptions extends SeedOptions {
  /** Default 0: a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Route prefix: '/api' like Kitsu's nginx (default), '' like a bare Zou. */
  prefix?: string;
  /** Access token lifetime for logins and `issueToken`. Default 7 days (Zou's default). */
  tokenTtlMs?: number;
  /** Refresh token lifetime. Default 15 days. */
  refreshTtlMs?: number;
  /** Page size of paged lists (Zou's NB_RECORDS_PER_PAGE). Default 100. */
  pageSize?: number;
  /** HMAC secret of the tokens. A fixed default keeps the bot token stable across restarts. */
  secret?: string;
  /** Clock, for tests that move time. Default Date.now. */
  now?: () => number;
}

/** Paths are the part after the prefix (`/data/tasks/<id>`). */
export type { RouteMatcher };

export interface FailOptions extends RouteMatcher {
  /** Sent as the Retry-After header (seconds or an HTTP date). */
  retryAfter?: string | number;
}

export interface FakeZouControl {
  /** A session token for a person, as Kitsu's cookie would hold. `ttlMs: null` never expires. */
  issueToken(personId: string, options?: { ttlMs?: number | null }): string;
  /** Expires every expiring token: access tokens, and refresh tokens unless `refresh: false`. */
  expireAll(options?: { refresh?: boolean }): number;
  revokeToken(token: string): boolean;
  /**
   * The next `count` matching requests fail with `status` before reaching their route. 500 answers
   * Zou's JSON error; 502/503/504 answer an nginx-style HTML page.
   */
  failNext(count: number, status: number, options?: FailOptions): void;
  /** Delays matching requests by `ms` (0 turns it off). */
  slow(ms: number, options?: RouteMatcher): void;
  /** Closes the listener and drops open connections: clients get ECONNREFUSED. */
  refuseConnections(): Promise<void>;
  /** Listens again on the same port. */
  acceptConnections(): Promise<void>;
  /** Clears failNext and slow rules. */
  clearFaults(): void;
  /** Requests logged so far that match. */
  requests(match?: RouteMatcher): RequestLogEntry[];
  /** Requests being handled now, and the most handled at once since start (or `resetConcurrency`). */
  concurrency(): { current: number; max: number };
  resetConcurrency(): void;
}

export interface FakeZouSeed extends Seed {
  ids: SeedIds;
  /** The bot's non-expiring token (the bot is a manager on Spring Festival and Big Show). */
  botToken: string;
}

export interface FakeZou {
  /** Base URL including the prefix, e.g. `http://127.0.0.1:41234/api`. */
  url: string;
  port: number;
  state: FakeZouState;
  seed: FakeZouSeed;
  control: FakeZouControl;
  close(): Promise<void>;
}

interface CompiledRoute {
  route: Route;
  pattern: RegExp;
  names: string[];
}

const compiled: CompiledRoute[] = routes.map((route) => {
  const names: string[] = [];
  const source = route.path.replace(/:([a-z]+)/g, (_, name: string) => {
    names.push(name);
    return '([^/]+)';
  });
  return { route, pattern: new RegExp(`^${source}/?$`), names };
});

/** Werkzeug's 401 text: what Zou answers for a valid token of a person it does not know. */
const UNAUTHORIZED_MESSAGE =
  "The server could not verify that you are authorized to access the URL requested. You either supplied the wrong credentials (e.g. a bad password), or your browser doesn't understand how to supply the credentials required.";

function readCookie(header: string | undefined, name: string): string | null {
  if (header === undefined) return null;
  for (const part of header.split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=');
  }
  return null;
}

/** How a request carried its access token, in the order flask-jwt-extended looks. */
function credentialOf(req: IncomingMessage): RequestLogEntry['credential'] {
  if (readCookie(req.headers.cookie, 'access_token_cookie') !== null) return 'cookie';
  return /^Bearer ./.test(req.headers.authorization ?? '') ? 'bearer' : null;
}

function nginxPage(status: number): string {
  const titles: Record<number, string> = {
    502: 'Bad Gateway',
    503: 'Service Temporarily Unavailable',
    504: 'Gateway Time-out',
  };
  const title = `${String(status)} ${titles[status] ?? 'Error'}`;
  return `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`;
}

/** Starts a fake Zou on 127.0.0.1 with the seeded production (see seed.ts). */
export async function startFakeZou(options: FakeZouOptions = {}): Promise<FakeZou> {
  const host = options.host ?? '127.0.0.1';
  const prefix = (options.prefix ?? '/api').replace(/\/+$/, '');
  const now = options.now ?? Date.now;
  const settings: FakeZouSettings = {
    tokenTtlMs: options.tokenTtlMs ?? 7 * 86_400_000,
    refreshTtlMs: options.refreshTtlMs ?? 15 * 86_400_000,
    pageSize: options.pageSize ?? 100,
  };
  const seedData = buildSeed(options);
  const state = createState(seedData);
  const tokens = new TokenStore(options.secret ?? 'fake-zou-not-a-secret', now);
  const botId = seedData.ids.persons.bot;
  // Fixed jti and issue time: with the default secret, the bot token is the same on every start.
  const botToken = tokens.issue(botId, 'access', null, {
    isBot: true,
    jti: `bot-${botId}`,
    issuedAt: Date.UTC(2025, 0, 6),
  });
  const faults = new HttpFaults();
  const closing = new AbortController();

  const send = (res: ServerResponse, answer: Answer, log: Omit<RequestLogEntry, 'status'>) => {
    state.requests.push({ ...log, status: answer.status });
    if (res.destroyed) return;
    const headers: Record<string, string | string[]> = { ...answer.headers };
    let payload = '';
    if (typeof answer.body === 'string') {
      payload = answer.body;
      headers['content-type'] ??= 'text/html';
    } else if (answer.body !== undefined) {
      payload = JSON.stringify(answer.body);
      headers['content-type'] = 'application/json';
    }
    res.writeHead(answer.status, headers);
    res.end(payload);
  };

  /** flask-jwt-extended's lookup: the cookie first, then the bearer; its refusals answer `{ msg }`. */
  const authenticate = (req: IncomingMessage, kind: 'access' | 'refresh'): PersonRow | Answer => {
    const cookieName = kind === 'access' ? 'access_token_cookie' : 'refresh_token_cookie';
    let token = readCookie(req.headers.cookie, cookieName);
    if (token === null) {
      const header = req.headers.authorization;
      const match = header === undefined ? null : /^Bearer (.+)$/.exec(header);
      if (match?.[1] === undefined) {
        const why =
          header === undefined
            ? 'Missing Authorization Header'
            : "Missing 'Bearer' type in 'Authorization' header. Expected 'Authorization: Bearer <JWT>'";
        return {
          status: 401,
          body: { msg: `Missing JWT in cookies or headers (Missing cookie "${cookieName}"; ${why})` },
        };
      }
      token = match[1];
    }
    const check = tokens.check(token, kind);
    if (!check.ok) return { status: check.status, body: check.body };
    const person = state.persons.get(check.personId);
    if (person === undefined) return { status: 401, body: { error: true, message: UNAUTHORIZED_MESSAGE } };
    if (!person.active) {
      return {
        status: 401,
        body: { error: true, login: false, message: 'User is unactive, he cannot log in.' },
      };
    }
    return person;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://fake-zou');
    const method = (req.method ?? 'GET').toUpperCase();
    const log = {
      method,
      path: url.pathname,
      query: url.search.replace(/^\?/, ''),
      personId: null,
      credential: credentialOf(req),
      injected: false,
    };
    const rawBody = await readBody(req);
    if (prefix !== '' && !url.pathname.startsWith(`${prefix}/`)) {
      send(res, { status: 404, body: { error: true, message: 'Not found' } }, log);
      return;
    }
    const path = url.pathname.slice(prefix.length);

    const fail = await faults.apply(method, path, closing.signal, url.search);
    if (fail !== undefined) {
      const headers: Record<string, string> = {};
      if (fail.retryAfter !== undefined) headers['retry-after'] = String(fail.retryAfter);
      const body =
        fail.status >= 502 && fail.status <= 504
          ? nginxPage(fail.status)
          : { error: true, message: fail.status >= 500 ? 'Internal server error.' : 'Injected failure' };
      send(res, { status: fail.status, headers, body }, { ...log, injected: true });
      return;
    }

    const candidates = compiled.flatMap((c) => {
      const m = c.pattern.exec(path);
      return m === null ? [] : [{ ...c, match: m }];
    });
    if (candidates.length === 0) {
      send(
        res,
        {
          status: 404,
          body: {
            error: true,
            message:
              '404 Not Found: The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.',
          },
        },
        log,
      );
      return;
    }
    const found = candidates.find((c) => c.route.method === method);
    if (found === undefined) {
      send(
        res,
        { status: 405, body: { error: true, message: 'The method is not allowed for the requested URL.' } },
        log,
      );
      return;
    }

    const { route } = found;
    let user: PersonRow | null = null;
    if (route.auth !== 'none') {
      const who = authenticate(req, route.auth);
      if (!('id' in who)) {
        send(res, who, log);
        return;
      }
      user = who;
    }

    let body: unknown;
    if (rawBody.trim() !== '') {
      const isJson = (req.headers['content-type'] ?? '').toLowerCase().startsWith('application/json');
      if (!isJson && route.body === 'strict') {
        send(
          res,
          {
            status: 415,
            body: {
              error: true,
              message:
                "Did not attempt to load JSON data because the request Content-Type was not 'application/json'.",
            },
          },
          { ...log, personId: user?.id ?? null },
        );
        return;
      }
      try {
        // Flask's get_json(silent=True) reads only a JSON content type, and nothing from bad JSON.
        body = !isJson && route.body === 'silent' ? undefined : (JSON.parse(rawBody) as unknown);
      } catch {
        if (route.body !== 'silent') {
          // Flask answers a generic 400 for a body that is not JSON.
          send(
            res,
            {
              status: 400,
              body: {
                error: true,
                message: 'The browser (or proxy) sent a request that this server could not understand.',
              },
            },
            { ...log, personId: user?.id ?? null },
          );
          return;
        }
      }
    }

    const params: Record<string, string> = {};
    found.names.forEach((name, index) => {
      params[name] = decodeURIComponent(found.match[index + 1] ?? '');
    });
    const ctx: PublicCtx = {
      method,
      path,
      params,
      query: url.searchParams,
      body,
      state,
      tokens,
      now,
      settings,
      userAgent: req.headers['user-agent'] ?? '',
    };
    let answer: Answer;
    // Any write may change what a list answers: the lists' memo starts again (see routes.ts).
    if (method !== 'GET') noteWrite(state);
    try {
      if (route.auth === 'none') answer = route.handle(ctx);
      else if (user === null) throw new HttpError(401, 'Missing JWT');
      else answer = route.handle({ ...ctx, user });
    } catch (error) {
      answer =
        error instanceof HttpError
          ? { status: error.status, body: error.body }
          : { status: 500, body: { error: true, message: 'Internal server error.' } };
    }
    send(res, answer, { ...log, personId: user?.id ?? null });
  };

  let inFlight = 0;
  let maxInFlight = 0;
  const server: Server = createServer((req, res) => {
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    res.once('close', () => {
      inFlight -= 1;
    });
    handle(req, res).catch((error: unknown) => {
      // Aborted by close() while slowed down, or the client went away: drop the connection.
      if (!closing.signal.aborted && !res.headersSent && !res.destroyed) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: true, message: String(error) }));
      } else {
        res.destroy();
      }
    });
  });

  const listener = await listen(server, {
    port: options.port,
    host,
    dropConnections: () => server.closeAllConnections(),
  });
  const port = listener.port;

  const control: FakeZouControl = {
    issueToken: (personId, opts = {}) => {
      const person = state.persons.get(personId);
      if (person === undefined) throw new Error(`fake-zou: no person ${personId}`);
      return tokens.issue(personId, 'access', opts.ttlMs === undefined ? settings.tokenTtlMs : opts.ttlMs, {
        isBot: person.is_bot,
      });
    },
    expireAll: (opts = {}) => tokens.expireAll(opts.refresh === false ? ['access'] : ['access', 'refresh']),
    revokeToken: (token) => tokens.revoke(token),
    failNext: (count, status, { retryAfter, ...match } = {}) => {
      faults.failNext(count, retryAfter === undefined ? { status } : { status, retryAfter }, match);
    },
    slow: (ms, match = {}) => faults.slow(ms, match),
    refuseConnections: () => listener.refuse(),
    acceptConnections: () => listener.accept(),
    clearFaults: () => faults.clear(),
    concurrency: () => ({ current: inFlight, max: maxInFlight }),
    resetConcurrency: () => {
      maxInFlight = inFlight;
    },
    requests: (match = {}) =>
      state.requests.filter((r) =>
        matches(match, r.method, prefix === '' ? r.path : r.path.slice(prefix.length), r.query),
      ),
  };

  return {
    url: `http://${host}:${String(port)}${prefix}`,
    port,
    state,
    seed: { ...seedData, botToken },
    control,
    close: async () => {
      if (!(await listener.close())) return;
      closing.abort();
    },
  };
}
