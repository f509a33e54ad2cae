import { createHash, timingSafeEqual } from 'node:crypto';
import {
  missingPerson,
  type ActionRequest,
  type AuthMode,
  type VerifiedRequest,
} from '@kitsu-actions/shared';
import type { AuthenticatedResult, Person, ZouClient } from '@kitsu-actions/zou';
import { setNewest } from './bounded.ts';
import { HttpProblem } from './errors.ts';

/** What a request carries that may prove who sent it; read by the route, never stored. */
export interface Credentials {
  /** Kitsu's `access_token_cookie`, sent by the browser when the receiver shares Kitsu's domain. */
  sessionCookie?: string;
  /** `Authorization: Bearer <jwt>`: the same session token, sent explicitly. */
  bearer?: string;
  /** The shared secret from `?token=` and/or the `X-Kitsu-Actions-Token` header. */
  sharedTokens: string[];
}

/** Who is calling, as far as the configured mode can tell. */
export type Caller = { mode: 'zou-session'; person: Person } | { mode: 'token' } | { mode: 'none' };

/**
 * The request as from its caller, the one step from what Kitsu sent to what authorization and the job
 * take. Under zou-session the session's person (and email) replace the payload's, and a payload naming
 * someone else is refused (403); otherwise the request is taken at its word and must name its person.
 */
export function bindCaller(request: ActionRequest, caller: Caller): VerifiedRequest {
  if (caller.mode !== 'zou-session') {
    if (request.personId === undefined) throw missingPerson();
    return { ...request, personId: request.personId, identity: { mode: caller.mode } };
  }
  const { person } = caller;
  const personId = person.id.toLowerCase();
  if (request.personId !== undefined && request.personId !== personId) {
    const name = person.full_name ?? `${person.first_name} ${person.last_name}`;
    throw new HttpProblem(
      403,
      'identity_mismatch',
      `The request says it comes from person ${request.personId} but the Kitsu session is ${name} (${person.id}); nothing was queued. Reload Kitsu and run the action again.`,
      { claimed: request.personId, session: person.id },
    );
  }
  const rest: ActionRequest = { ...request };
  delete rest.personEmail;
  return {
    ...rest,
    personId,
    ...(typeof person.email === 'string' && person.email !== '' ? { personEmail: person.email } : {}),
    identity: { mode: 'zou-session', role: person.role },
  };
}

export interface Identity {
  readonly mode: AuthMode;
  /** Establishes the caller, or throws an HttpProblem (401, or 503 when Kitsu cannot be reached). */
  identify(credentials: Credentials): Promise<Caller>;
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** The `exp` claim of a JWT in epoch ms, unverified: only used to never cache a session past it. */
export function jwtExpiry(token: string): number | undefined {
  const parts = token.split('.');
  // Stryker disable next-line StringLiteral: equivalent, any text that is not a JWT payload fails to parse.
  const payload = parts[1] ?? '';
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    // Not a JWT, or not JSON: Zou will refuse the token; there is just nothing to cache.
  }
  const exp = (claims as { exp?: unknown } | null | undefined)?.exp;
  return Number.isFinite(exp) ? (exp as number) * 1000 : undefined;
}

/**
 * Recent `authenticated` answers, keyed by a hash of the session token. Bounded in size (oldest entry
 * out first) and in time: an entry lives `ttlMs` at most, and never past the token's own expiry.
 * Refusals are kept too, apart (so garbage sent again and again costs Kitsu one call, and can never push
 * a good session out): as long, and as many.
 */
export class SessionCache {
  private readonly entries = new Map<string, { person: Person; until: number }>();
  private readonly refusals = new Map<string, { reason: string; until: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {}

  private static key(token: string): string {
    return sha256(token).toString('hex');
  }

  private static fresh<T extends { until: number }>(
    map: Map<string, T>,
    key: string,
    now: number,
  ): T | undefined {
    const entry = map.get(key);
    if (entry === undefined) return undefined;
    if (entry.until <= now) {
      map.delete(key);
      return undefined;
    }
    return entry;
  }

  get(token: string): Person | undefined {
    return SessionCache.fresh(this.entries, SessionCache.key(token), this.now())?.person;
  }

  set(token: string, person: Person): void {
    const now = this.now();
    const until = Math.min(now + this.ttlMs, jwtExpiry(token) ?? Number.POSITIVE_INFINITY);
    if (until <= now) return;
    setNewest(this.entries, SessionCache.key(token), { person, until }, this.maxEntries);
  }

  /** Why Kitsu refused this token a moment ago, if it did. */
  refusal(token: string): string | undefined {
    return SessionCache.fresh(this.refusals, SessionCache.key(token), this.now())?.reason;
  }

  refuse(token: string, reason: string): void {
    if (this.ttlMs <= 0) return;
    setNewest(
      this.refusals,
      SessionCache.key(token),
      { reason, until: this.now() + this.ttlMs },
      this.maxEntries,
    );
  }

  /** Whether the token says it has expired (its `exp`, unverified: such a token is refused anyway). */
  expired(token: string): boolean {
    return (jwtExpiry(token) ?? Number.POSITIVE_INFINITY) <= this.now();
  }

  get size(): number {
    return this.entries.size;
  }

  get refusedSize(): number {
    return this.refusals.size;
  }
}

const loginHint =
  'Open Kitsu, log in, and run the action again from there. If you are logged in, the browser did not send ' +
  'Kitsu\'s session cookie: the action URL must be on Kitsu\'s own domain (see the README, "Who is calling").';

/** `zou-session`: Kitsu itself says who owns the session cookie (or bearer token) of the request. */
export function zouSessionIdentity(zou: ZouClient, cache: SessionCache): Identity {
  // Requests carrying the same token at once share one question to Kitsu.
  const asking = new Map<string, Promise<AuthenticatedResult>>();
  const ask = (token: string, via: 'cookie' | 'bearer'): Promise<AuthenticatedResult> => {
    const key = sha256(token).toString('hex');
    let answer = asking.get(key);
    if (answer === undefined) {
      answer = zou.authenticated(token, { via }).finally(() => asking.delete(key));
      asking.set(key, answer);
    }
    return answer;
  };
  return {
    mode: 'zou-session',
    async identify(credentials) {
      let via: 'cookie' | 'bearer' = 'cookie';
      // Stryker disable next-line StringLiteral: equivalent, the Zou client sends any token but a cookie as a bearer.
      if (credentials.sessionCookie === undefined) via = 'bearer';
      const token = credentials.sessionCookie ?? credentials.bearer;
      if (token === undefined || token === '') {
        throw new HttpProblem(
          401,
          'not_authenticated',
          `This action needs your Kitsu session, and none came with the request (no access_token_cookie cookie, no Authorization: Bearer token). ${loginHint}`,
        );
      }
      const cached = cache.get(token);
      if (cached !== undefined) return { mode: 'zou-session', person: cached };
      const refused = (reason: string): HttpProblem =>
        new HttpProblem(
          401,
          'session_refused',
          `Kitsu did not accept the session that came with the request (${reason}). Log in to Kitsu again and run the action again.`,
        );
      // Answered here, without asking Kitsu: a token it refused a moment ago, or one past its expiry.
      const known = cache.refusal(token);
      if (known !== undefined) throw refused(known);
      if (cache.expired(token)) throw refused('the session has expired');
      const answer = await ask(token, via);
      if (!answer.authenticated) {
        cache.refuse(token, answer.reason);
        throw refused(answer.reason);
      }
      cache.set(token, answer.user);
      return { mode: 'zou-session', person: answer.user };
    },
  };
}

/** `token`: the request carries the shared secret of the action URL, compared in constant time. */
export function sharedTokenIdentity(secret: string): Identity {
  const expected = sha256(secret);
  return {
    mode: 'token',
    identify(credentials) {
      const given = [...new Set(credentials.sharedTokens)];
      if (given.length === 0) {
        throw new HttpProblem(
          401,
          'token_required',
          "This action URL needs the kitsu-actions token: add ?token=<ACTIONS_TOKEN> to the action's URL in Kitsu's custom actions (or send it in the X-Kitsu-Actions-Token header).",
        );
      }
      // Hashing first gives equal lengths, so timingSafeEqual never throws and leaks no length.
      const ok = given.length === 1 && timingSafeEqual(sha256(given[0] as string), expected);
      if (!ok) {
        throw new HttpProblem(
          401,
          'token_refused',
          "The kitsu-actions token in the request is wrong. Check the action's URL in Kitsu's custom actions against the receiver's ACTIONS_TOKEN.",
        );
      }
      return Promise.resolve({ mode: 'token' });
    },
  };
}

/** `none`: the request is trusted as sent (main.ts warns about it at every start). */
export function trustingIdentity(): Identity {
  return { mode: 'none', identify: () => Promise.resolve({ mode: 'none' }) };
}
