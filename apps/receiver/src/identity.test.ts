import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { normalizeKitsuRequest, RequestProblem, VerifiedRequest } from '@kitsu-actions/shared';
import { startFakeZou, type FakeZou } from '@kitsu-actions/testing';
import { createZouClient, type Person } from '@kitsu-actions/zou';
import { HttpProblem } from './errors.ts';
import {
  bindCaller,
  jwtExpiry,
  SessionCache,
  sharedTokenIdentity,
  trustingIdentity,
  zouSessionIdentity,
  type Caller,
  type Credentials,
} from './identity.ts';
import { refusalOf } from '../test/rejection.ts';

const artist = 'B01BAE1E-F829-458A-A1EB-131BB66628CC';
const someoneElse = '2c2ab1b4-3b14-4f10-9a3c-3d27f7d0b0a1';
const task = '95c171e1-dfff-498f-93e3-548a739e3202';

const person: Person = {
  id: artist,
  first_name: 'Kenji',
  last_name: 'Sato',
  email: 'kenji.sato@studio.example',
  role: 'user',
};
const session: Caller = { mode: 'zou-session', person };

function sent(fields: Record<string, unknown>, requirePerson = true) {
  return normalizeKitsuRequest(
    { selection: task, ...fields },
    {
      actionId: 'debug',
      actionName: 'Debug',
      requirePerson,
      mode: 'form',
      maxSelection: 10,
      receivedAt: new Date('2026-01-02T03:04:05Z'),
    },
  );
}

describe('bindCaller', () => {
  it('AUTH_MODE=none and token take the request at its word, and say how', () => {
    const request = sent({ personid: someoneElse, personemail: 'them@studio.example' });
    for (const mode of ['none', 'token'] as const) {
      const bound = bindCaller(request, { mode });
      expect(bound).toEqual({
        ...request,
        personId: someoneElse,
        personEmail: 'them@studio.example',
        identity: { mode },
      });
      expect(VerifiedRequest.parse(bound)).toEqual(bound);
    }
  });

  it('without a session, a request naming nobody is the 400 normalization gives it', () => {
    const anonymous = sent({}, false);
    expect(() => bindCaller(anonymous, { mode: 'token' })).toThrow(RequestProblem);
    expect(() => bindCaller(anonymous, { mode: 'none' })).toThrow(
      expect.objectContaining({ code: 'missing_field', field: 'personid' }),
    );
  });

  it("zou-session: the session's person and email replace the payload's, with their role", () => {
    const bound = bindCaller(sent({ personid: artist, personemail: 'forged@example.com' }), session);
    expect(bound).toMatchObject({
      personId: artist.toLowerCase(),
      personEmail: 'kenji.sato@studio.example',
      identity: { mode: 'zou-session', role: 'user' },
    });
    // A request naming nobody runs as the session's person; a session without an email keeps none.
    const quiet = bindCaller(sent({ personemail: 'forged@example.com' }, false), {
      mode: 'zou-session',
      person: { ...person, email: null },
    });
    expect(quiet.personId).toBe(artist.toLowerCase());
    expect(quiet).not.toHaveProperty('personEmail');
    // Kitsu keeps an empty email for some accounts: that is no email either.
    const blank = bindCaller(sent({ personemail: 'forged@example.com' }, false), {
      mode: 'zou-session',
      person: { ...person, email: '' },
    });
    expect(blank).not.toHaveProperty('personEmail');
  });

  it('zou-session: a payload naming someone else is 403 identity_mismatch, naming both', () => {
    let refused: unknown;
    try {
      bindCaller(sent({ personid: someoneElse }), session);
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(HttpProblem);
    expect(refused).toMatchObject({
      status: 403,
      code: 'identity_mismatch',
      details: { claimed: someoneElse, session: artist },
    });
    expect((refused as HttpProblem).message).toMatch(
      `says it comes from person ${someoneElse} but the Kitsu session is Kenji Sato (${artist})`,
    );
  });
});

/** A JWT-shaped token whose payload is `claims` (unsigned: only `jwtExpiry` and the cache read it). */
const jwt = (claims: unknown): string => `h.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.s`;

describe('jwtExpiry', () => {
  it("reads the exp claim in epoch ms, and nothing from a token that has none or isn't a JWT", () => {
    expect(jwtExpiry(jwt({ exp: 1_700_000_000 }))).toBe(1_700_000_000_000);
    expect(jwtExpiry(jwt({ sub: 'x' }))).toBeUndefined();
    expect(jwtExpiry(jwt({ exp: '1700000000' }))).toBeUndefined();
    expect(jwtExpiry(jwt(null))).toBeUndefined();
    expect(jwtExpiry('h.' + Buffer.from('{"exp":1e400}').toString('base64url') + '.s')).toBeUndefined();
    expect(jwtExpiry('h.not-json.s')).toBeUndefined();
    expect(jwtExpiry('opaque')).toBeUndefined();
  });
});

describe('SessionCache', () => {
  const person: Person = { id: artist, first_name: 'Kenji', last_name: 'Sato', role: 'user' };
  let now = 0;
  beforeEach(() => {
    now = 1_000_000;
  });

  it('an answer lives until exactly its TTL, and one for a token expiring now is not kept', () => {
    const cache = new SessionCache(1000, 10, () => now);
    const token = jwt({ sub: 'a' });
    cache.set(token, person);
    now += 999;
    expect(cache.get(token)).toEqual(person);
    now += 1;
    expect(cache.get(token)).toBeUndefined();
    expect(cache.size).toBe(0);
    cache.set(jwt({ exp: now / 1000 }), person);
    expect(cache.size).toBe(0);
  });

  it('keeps the newest answers up to its bound, each refreshed when set again', () => {
    const cache = new SessionCache(60_000, 2, () => now);
    const [a, b, c] = ['a', 'b', 'c'].map((sub) => jwt({ sub })) as [string, string, string];
    cache.set(a, person);
    cache.set(b, person);
    cache.set(a, person);
    cache.set(c, person);
    expect(cache.size).toBe(2);
    expect(cache.get(b)).toBeUndefined();
    expect(cache.get(a)).toEqual(person);
    expect(cache.get(c)).toEqual(person);
    const none = new SessionCache(60_000, 0, () => now);
    none.set(a, person);
    expect(none.size).toBe(0);
  });

  it('keeps refusals apart, for the TTL and within the bound; a TTL of 0 keeps none', () => {
    const cache = new SessionCache(1000, 2, () => now);
    const [a, b, c] = ['a', 'b', 'c'].map((sub) => jwt({ sub })) as [string, string, string];
    cache.set(a, person);
    cache.refuse(b, 'token revoked');
    expect(cache.refusal(b)).toBe('token revoked');
    expect(cache.refusal(a)).toBeUndefined();
    expect(cache.get(b)).toBeUndefined();
    cache.refuse(c, 'bad signature');
    cache.refuse(a, 'malformed');
    expect(cache.refusedSize).toBe(2);
    expect(cache.refusal(b)).toBeUndefined();
    // Refusals never push a session out.
    expect(cache.get(a)).toEqual(person);
    now += 999;
    expect(cache.refusal(c)).toBe('bad signature');
    now += 1;
    expect(cache.refusal(c)).toBeUndefined();
    const uncached = new SessionCache(0, 2, () => now);
    uncached.refuse(a, 'token revoked');
    expect(uncached.refusedSize).toBe(0);
    expect(uncached.refusal(a)).toBeUndefined();
  });

  it('a token is expired from its exp on, and one without exp never is', () => {
    const cache = new SessionCache(1000, 2, () => now);
    expect(cache.expired(jwt({ exp: now / 1000 - 1 }))).toBe(true);
    expect(cache.expired(jwt({ exp: now / 1000 }))).toBe(true);
    expect(cache.expired(jwt({ exp: now / 1000 + 1 }))).toBe(false);
    expect(cache.expired(jwt({ sub: 'a' }))).toBe(false);
  });
});

describe('zouSessionIdentity against the fake Zou', () => {
  let zou: FakeZou;
  beforeAll(async () => {
    zou = await startFakeZou();
  });
  afterAll(async () => {
    await zou.close();
  });

  const artistId = () => zou.seed.ids.persons.artist;
  const asks = () => zou.control.requests({ path: /\/auth\/authenticated$/ });
  const identity = (cache = new SessionCache(30_000, 100)) =>
    zouSessionIdentity(
      createZouClient({ baseUrl: zou.url, auth: { token: zou.seed.botToken }, retries: 0 }),
      cache,
    );
  const credentials = (fields: Partial<Credentials>): Credentials => ({ sharedTokens: [], ...fields });
  const refusal = refusalOf;

  it('asks Kitsu with the cookie when one came, else with the bearer token, once while cached', async () => {
    const before = asks().length;
    const sessions = identity();
    expect(sessions.mode).toBe('zou-session');
    const token = zou.control.issueToken(artistId());
    const bearer = zou.control.issueToken(artistId());
    const fromCookie = await sessions.identify(credentials({ sessionCookie: token, bearer }));
    expect(fromCookie).toMatchObject({ mode: 'zou-session', person: { id: artistId() } });
    expect(await sessions.identify(credentials({ bearer }))).toMatchObject({ person: { id: artistId() } });
    expect(await sessions.identify(credentials({ sessionCookie: token }))).toEqual(fromCookie);
    expect(
      asks()
        .slice(before)
        .map((entry) => entry.credential),
    ).toEqual(['cookie', 'bearer']);
  });

  it('requests with one token at once share one question; a later one asks again when nothing is cached', async () => {
    const sessions = identity(new SessionCache(0, 100));
    const token = zou.control.issueToken(artistId());
    const before = asks().length;
    const callers = await Promise.all(
      [1, 2, 3].map(() => sessions.identify(credentials({ sessionCookie: token }))),
    );
    expect(callers.map((caller) => caller.mode)).toEqual(['zou-session', 'zou-session', 'zou-session']);
    expect(asks().length - before).toBe(1);
    await sessions.identify(credentials({ sessionCookie: token }));
    expect(asks().length - before).toBe(2);
  });

  it('no token, or an empty one, is 401 not_authenticated without asking Kitsu', async () => {
    const sessions = identity();
    const before = asks().length;
    for (const sent of [{}, { bearer: '' }, { sessionCookie: '' }]) {
      const problem = await refusal(sessions.identify(credentials(sent)));
      expect(problem).toMatchObject({ status: 401, code: 'not_authenticated' });
      expect(problem.message).toMatch(/none came with the request .*access_token_cookie/);
    }
    expect(asks().length).toBe(before);
  });

  it('a token Kitsu refused is refused again from the cache, and an expired one without asking', async () => {
    const sessions = identity();
    const revoked = zou.control.issueToken(artistId());
    zou.control.revokeToken(revoked);
    const before = asks().length;
    const first = await refusal(sessions.identify(credentials({ sessionCookie: revoked })));
    expect(first).toMatchObject({ status: 401, code: 'session_refused' });
    const again = await refusal(sessions.identify(credentials({ sessionCookie: revoked })));
    expect(again.message).toBe(first.message);
    expect(asks().length - before).toBe(1);

    const expired = zou.control.issueToken(artistId(), { ttlMs: -60_000 });
    expect(jwtExpiry(expired)).toBeLessThan(Date.now());
    const late = await refusal(sessions.identify(credentials({ sessionCookie: expired })));
    expect(late).toMatchObject({ status: 401, code: 'session_refused' });
    expect(late.message).toMatch(/\(the session has expired\)/);
    expect(asks().length - before).toBe(1);
  });
});

describe('sharedTokenIdentity and trustingIdentity', () => {
  const shared = sharedTokenIdentity('s3cret');
  const tokens = (...sharedTokens: string[]): Credentials => ({ sharedTokens });
  const refusal = (sent: Credentials): unknown => {
    try {
      void shared.identify(sent);
    } catch (error) {
      return error;
    }
    return undefined;
  };

  it('the secret once, or the same secret twice (query and header), is the token caller', async () => {
    expect(shared.mode).toBe('token');
    await expect(shared.identify(tokens('s3cret'))).resolves.toEqual({ mode: 'token' });
    await expect(shared.identify(tokens('s3cret', 's3cret'))).resolves.toEqual({ mode: 'token' });
  });

  it('no token is token_required, and a wrong one, or two different ones, token_refused', () => {
    const required = refusal(tokens());
    expect(required).toMatchObject({ status: 401, code: 'token_required' });
    expect((required as HttpProblem).message).toMatch(/add \?token=<ACTIONS_TOKEN> to the action's URL/);
    for (const sent of [tokens('wrong'), tokens('s3cret', 'wrong'), tokens('wrong', 's3cret')]) {
      const refused = refusal(sent);
      expect(refused).toMatchObject({ status: 401, code: 'token_refused' });
      expect((refused as HttpProblem).message).toMatch(/token in the request is wrong.*ACTIONS_TOKEN/);
    }
  });

  it('AUTH_MODE=none trusts the request as sent', async () => {
    const trusting = trustingIdentity();
    expect(trusting.mode).toBe('none');
    await expect(trusting.identify(tokens())).resolves.toEqual({ mode: 'none' });
  });
});
