import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { startFakeZou } from './fake-zou/server.ts';
import { buildSeed } from './fake-zou/seed.ts';
import type { HumanKey, PersonKey, Seed, SeedIds } from './fake-zou/seed.ts';
import type { RealZouContext } from './real-zou/global-setup.ts';

/*
 * The two Zous a contract test runs against with `describe.each(zouTargets)`: the fake (one per test
 * file, started by `start()`) and the real one the kitsu suite's global setup started and seeded with the
 * fake's production (shared by every file of the run: tests that write use unique names). Both answer
 * the same seed ids, logins and bot; tokens are forged the way flask-jwt-extended signs them.
 */

export type ZouTargetName = 'fake Zou' | 'real Zou';

export interface ZouLogin {
  email: string;
  password: string;
}

/** What `POST /auth/login` answered: the tokens in the body, and the cookies a browser would keep. */
export interface ZouLoginAnswer {
  accessToken: string;
  refreshToken: string;
  userId: string;
  /** `access_token_cookie` and `refresh_token_cookie` values; set only for a browser User-Agent. */
  cookies: Record<string, string>;
}

export interface ZouCallOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  /** Sent as the `access_token_cookie` cookie. */
  cookie?: string;
  /** A `Cookie` header as is (e.g. `refresh_token_cookie=...`). */
  rawCookie?: string;
  /** JSON-encoded unless a string. */
  body?: unknown;
  contentType?: string;
  userAgent?: string;
}

export interface ZouCallAnswer {
  status: number;
  /** Parsed JSON, or the text when it is not JSON, or null when empty. */
  body: unknown;
  headers: Headers;
}

export interface ZouTarget {
  name: ZouTargetName;
  /** The base URL the client uses: routes are `<url>/auth/login`, `<url>/data/...`. */
  url: string;
  ids: SeedIds;
  logins: Record<HumanKey, ZouLogin>;
  /** The bot's non-expiring token (the bot is a manager on Spring Festival and Big Show). */
  botToken: string;
  /**
   * The fake seed's rows both productions were built from, as the seed made them (before any test
   * wrote): the values a contract test expects. Their ids are the fake's: `idOf` maps them.
   */
  production: Seed;
  /** This target's id for the row of `production` with that id (the same id on the fake). */
  idOf: (seedId: string) => string;
  /** Logs a person in with their seed login (a browser User-Agent when `browser`, to get the cookies). */
  login: (who: HumanKey, options?: { browser?: boolean }) => Promise<ZouLoginAnswer>;
  /** A session (access) token for a person: one login per person and target, then reused. */
  sessionToken: (who: HumanKey) => Promise<string>;
  /** An access token for the person, correctly signed, whose `exp` is an hour past. */
  expiredToken: (who: PersonKey) => string;
  /** An access token for the person, unexpired, signed with another key than Zou's. */
  wronglySignedToken: (who: PersonKey) => string;
  /** A JWT with these claims signed with Zou's own key (a token no login issued). */
  signedToken: (claims: Record<string, unknown>) => string;
  /** One HTTP request to `<url><path>`, for what the client does not expose (statuses, raw shapes). */
  call: (path: string, options?: ZouCallOptions) => Promise<ZouCallAnswer>;
  close: () => Promise<void>;
}

export interface ZouTargetFactory {
  name: ZouTargetName;
  start: () => Promise<ZouTarget>;
}

/** A User-Agent Zou takes for a browser: it then sets the JWT cookies on login (ua-parser: Chrome). */
export const BROWSER_USER_AGENT =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';

/** The size of Big Show in both targets (the kitsu global setup seeds the real one with it). */
export const BIG_PROJECT_TASKS = 150;

export const zouTargets: readonly ZouTargetFactory[] = [
  { name: 'fake Zou', start: startFakeZouTarget },
  { name: 'real Zou', start: realZouTarget },
];

/** A fresh fake Zou with the big project, signing its tokens with a key of its own. */
export async function startFakeZouTarget(): Promise<ZouTarget> {
  const secret = randomBytes(24).toString('hex');
  const fake = await startFakeZou({ bigProject: { tasks: BIG_PROJECT_TASKS }, secret });
  return buildTarget({
    name: 'fake Zou',
    url: fake.url,
    secret,
    ids: fake.seed.ids,
    logins: fake.seed.logins,
    botToken: fake.seed.botToken,
    close: () => fake.close(),
  });
}

/**
 * The real Zou of the kitsu run (see real-zou/global-setup.ts). Only inside `pnpm test:kitsu`: vitest's
 * `inject` is read lazily so that importing this module elsewhere costs nothing.
 */
export async function realZouTarget(): Promise<ZouTarget> {
  const { inject } = await import('vitest');
  const real: RealZouContext = inject('realZou');
  return buildTarget({
    name: 'real Zou',
    url: real.url,
    secret: real.secretKey,
    ids: real.seed.ids,
    logins: real.seed.logins,
    botToken: real.seed.botToken,
    // Shared by every file of the run: stopped by the global setup.
    close: () => Promise.resolve(),
  });
}

interface TargetInit {
  name: ZouTargetName;
  url: string;
  secret: string;
  ids: SeedIds;
  logins: Record<HumanKey, ZouLogin>;
  botToken: string;
  close: () => Promise<void>;
}

function buildTarget(init: TargetInit): ZouTarget {
  const url = init.url.replace(/\/+$/, '');
  const production = buildSeed({ bigProject: { tasks: BIG_PROJECT_TASKS } });
  const ids = new Map<string, string>();
  pairIds(production.ids, init.ids, ids);
  const sessions = new Map<HumanKey, Promise<string>>();

  const call = async (path: string, options: ZouCallOptions = {}): Promise<ZouCallAnswer> => {
    // gunicorn closes idle keep-alive connections after 2 s; a POST sent on one just then fails.
    const headers: Record<string, string> = { connection: 'close' };
    if (options.token !== undefined) headers['authorization'] = `Bearer ${options.token}`;
    const cookies = [
      ...(options.cookie === undefined ? [] : [`access_token_cookie=${options.cookie}`]),
      ...(options.rawCookie === undefined ? [] : [options.rawCookie]),
    ];
    if (cookies.length > 0) headers['cookie'] = cookies.join('; ');
    if (options.userAgent !== undefined) headers['user-agent'] = options.userAgent;
    let payload: string | undefined;
    if (options.body !== undefined) {
      payload = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
      headers['content-type'] = options.contentType ?? 'application/json';
    }
    const res = await fetch(`${url}${path}`, {
      method: options.method ?? 'GET',
      headers,
      ...(payload === undefined ? {} : { body: payload }),
    });
    const text = await res.text();
    let body: unknown = null;
    if (text !== '') {
      try {
        body = JSON.parse(text) as unknown;
      } catch {
        // Not JSON (an HTML error page): the test sees the text.
        body = text;
      }
    }
    return { status: res.status, body, headers: res.headers };
  };

  const login = async (who: HumanKey, options: { browser?: boolean } = {}): Promise<ZouLoginAnswer> => {
    const answer = await call('/auth/login', {
      method: 'POST',
      body: init.logins[who],
      ...(options.browser === true ? { userAgent: BROWSER_USER_AGENT } : {}),
    });
    const body = answer.body as { access_token?: unknown; refresh_token?: unknown; user?: { id?: unknown } };
    if (
      answer.status !== 200 ||
      typeof body.access_token !== 'string' ||
      typeof body.refresh_token !== 'string' ||
      typeof body.user?.id !== 'string'
    ) {
      throw new Error(
        `${init.name} at ${url} refused the login of ${init.logins[who].email}: ` +
          `${String(answer.status)} ${JSON.stringify(answer.body)}`,
      );
    }
    const cookies: Record<string, string> = {};
    for (const header of answer.headers.getSetCookie()) {
      const [pair = ''] = header.split(';');
      const at = pair.indexOf('=');
      if (at > 0) cookies[pair.slice(0, at)] = pair.slice(at + 1);
    }
    return {
      accessToken: body.access_token,
      refreshToken: body.refresh_token,
      userId: body.user.id,
      cookies,
    };
  };

  const forge = (who: PersonKey, key: string, expiresInS: number): string => {
    const now = Math.floor(Date.now() / 1000);
    return signJwt(key, {
      fresh: false,
      iat: now - 7200,
      jti: randomUUID(),
      type: 'access',
      sub: init.ids.persons[who],
      nbf: now - 7200,
      exp: now + expiresInS,
      identity_type: 'person',
    });
  };

  return {
    name: init.name,
    url,
    ids: init.ids,
    logins: init.logins,
    botToken: init.botToken,
    production,
    idOf: (seedId) => {
      const id = ids.get(seedId);
      if (id === undefined) throw new Error(`${init.name}: no id for the seed's row ${seedId}`);
      return id;
    },
    login,
    sessionToken: (who) => {
      let session = sessions.get(who);
      if (session === undefined) {
        session = login(who).then((answer) => answer.accessToken);
        // A failed login is not cached: the next call tries again.
        void session.catch(() => sessions.delete(who));
        sessions.set(who, session);
      }
      return session;
    },
    expiredToken: (who) => forge(who, init.secret, -3600),
    wronglySignedToken: (who) => forge(who, `${init.secret}-not-zou-s`, 3600),
    signedToken: (claims) => signJwt(init.secret, claims),
    call,
    close: init.close,
  };
}

/** Walks the seed's ids and the target's (the same structure) side by side, pairing each leaf. */
function pairIds(seed: unknown, target: unknown, out: Map<string, string>): void {
  if (typeof seed === 'string' && typeof target === 'string') {
    out.set(seed, target);
    return;
  }
  if (seed === null || typeof seed !== 'object' || target === null || typeof target !== 'object') return;
  for (const [key, value] of Object.entries(seed)) {
    pairIds(value, (target as Record<string, unknown>)[key], out);
  }
}

/** An HS256 JWT as flask-jwt-extended (PyJWT) writes one: header `{alg, typ}`, base64url, no padding. */
export function signJwt(secret: string, claims: Record<string, unknown>): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const unsigned = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode(claims)}`;
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
}

/** A name no other test of the shared real Zou uses: `<prefix> <8 hex>`. */
export function uniqueName(prefix: string): string {
  return `${prefix} ${randomUUID().slice(0, 8)}`;
}
