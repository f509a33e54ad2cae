import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BROWSER_USER_AGENT, zouTargets } from '@kitsu-actions/testing';
import type { ZouTarget } from '@kitsu-actions/testing';
import { createZouClient } from '../client.ts';
import type { ZouClientOptions } from '../client.ts';
import { ZouAuthError, ZouError } from '../errors.ts';

// Contract: login, refresh and `/auth/authenticated` answer the same on the fake and the real Zou.

const JWT = /^[\w-]+\.[\w-]+\.[\w-]+$/;

function clientFor(zou: ZouTarget, auth: ZouClientOptions['auth']) {
  return createZouClient({ baseUrl: zou.url, auth, retries: 1, retryBaseDelayMs: 50, timeoutMs: 20_000 });
}

describe.each(zouTargets)('$name: authentication', ({ start }) => {
  let zou: ZouTarget;

  beforeAll(async () => {
    zou = await start();
  });
  afterAll(async () => {
    await zou.close();
  });

  describe('POST /auth/login', () => {
    it('answers 200 with both tokens and the user, and no cookie for a script', async () => {
      const answer = await zou.call('/auth/login', { method: 'POST', body: zou.logins.manager });
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({
        login: true,
        access_token: expect.stringMatching(JWT) as unknown,
        refresh_token: expect.stringMatching(JWT) as unknown,
        user: { id: zou.ids.persons.manager, role: 'manager', email: zou.logins.manager.email },
      });
      expect(answer.headers.getSetCookie()).toEqual([]);
    });

    it('refuses a wrong or a missing password with 400 login:false, a missing email with a validation error', async () => {
      const wrong = await zou.call('/auth/login', {
        method: 'POST',
        body: { email: zou.logins.artist.email, password: 'not-the-password' },
      });
      expect(wrong).toMatchObject({
        status: 400,
        body: { login: false, message: 'Wrong email or password.' },
      });
      const noPassword = await zou.call('/auth/login', {
        method: 'POST',
        body: { email: zou.logins.artist.email },
      });
      expect(noPassword).toMatchObject({
        status: 400,
        body: { login: false, message: 'Wrong email or password.' },
      });
      const unknown = await zou.call('/auth/login', {
        method: 'POST',
        body: { email: 'nobody@studio.example', password: 'whatever-long' },
      });
      expect(unknown).toMatchObject({
        status: 400,
        body: { login: false, message: 'Wrong email or password.' },
      });
      const noEmail = await zou.call('/auth/login', { method: 'POST', body: {} });
      expect(noEmail).toMatchObject({
        status: 400,
        body: {
          error: true,
          message: 'Validation error.',
          data: { errors: [{ field: 'email', message: 'Field required' }] },
        },
      });
    });

    it('sets the JWT cookies for a browser only: the access cookie on /, the refresh cookie on its route', async () => {
      const answer = await zou.call('/auth/login', {
        method: 'POST',
        body: zou.logins.artist,
        userAgent: BROWSER_USER_AGENT,
      });
      expect(answer.status).toBe(200);
      const cookies = answer.headers.getSetCookie();
      const access = cookies.find((c) => c.startsWith('access_token_cookie='));
      const refresh = cookies.find((c) => c.startsWith('refresh_token_cookie='));
      expect(access).toMatch(/; HttpOnly; Path=\/; SameSite=Lax$/);
      expect(refresh).toMatch(/; HttpOnly; Path=\/auth\/refresh-token; SameSite=Lax$/);
      // The cookie holds the very token of the body.
      expect(access?.split(';')[0]).toBe(
        `access_token_cookie=${String((answer.body as { access_token: string }).access_token)}`,
      );
    });
  });

  describe('GET /auth/refresh-token', () => {
    it('answers a new access token for the refresh token, and the new token works', async () => {
      const session = await zou.login('lighter');
      const refreshed = await zou.call('/auth/refresh-token', { token: session.refreshToken });
      expect(refreshed.status).toBe(200);
      expect(Object.keys(refreshed.body as object)).toEqual(['access_token']);
      const token = (refreshed.body as { access_token: string }).access_token;
      expect(token).toMatch(JWT);
      expect(token).not.toBe(session.accessToken);
      const who = await zou.call('/auth/authenticated', { token });
      expect(who).toMatchObject({ status: 200, body: { user: { id: zou.ids.persons.lighter } } });
    });

    it('refuses an access token there, and a refresh token elsewhere, with 422', async () => {
      const session = await zou.login('lighter');
      expect(await zou.call('/auth/refresh-token', { token: session.accessToken })).toEqual(
        expect.objectContaining({ status: 422, body: { msg: 'Only refresh tokens are allowed' } }),
      );
      expect(await zou.call('/auth/authenticated', { token: session.refreshToken })).toEqual(
        expect.objectContaining({ status: 422, body: { msg: 'Only non-refresh tokens are allowed' } }),
      );
      // The bot's token is an access token: it cannot be refreshed either.
      expect((await zou.call('/auth/refresh-token', { token: zou.botToken })).status).toBe(422);
    });

    it('refreshes a browser from its refresh cookie: { refresh: true }, a new access cookie, the refresh cookie unset', async () => {
      const session = await zou.login('artist', { browser: true });
      const refreshCookie = session.cookies['refresh_token_cookie'];
      expect(refreshCookie).toMatch(JWT);
      const answer = await zou.call('/auth/refresh-token', {
        rawCookie: `refresh_token_cookie=${String(refreshCookie)}`,
        userAgent: BROWSER_USER_AGENT,
      });
      expect(answer).toMatchObject({ status: 200, body: { refresh: true } });
      const cookies = answer.headers.getSetCookie();
      const access = cookies
        .find((c) => c.startsWith('access_token_cookie='))
        ?.split(';')[0]
        ?.split('=')[1];
      expect(access).toMatch(JWT);
      expect(cookies.find((c) => c.startsWith('refresh_token_cookie='))).toMatch(
        /^refresh_token_cookie=; Expires=Thu, 01 Jan 1970 00:00:00 GMT/,
      );
      expect(await zou.call('/auth/authenticated', { cookie: String(access) })).toMatchObject({
        status: 200,
        body: { user: { id: zou.ids.persons.artist } },
      });
    });
  });

  describe('GET /auth/authenticated', () => {
    it('names the owner of a session, sent as the access_token_cookie or as a bearer', async () => {
      const client = clientFor(zou, { token: zou.botToken });
      const token = await zou.sessionToken('supervisor');
      for (const via of ['cookie', 'bearer'] as const) {
        const answer = await client.authenticated(token, { via });
        expect(answer).toMatchObject({
          authenticated: true,
          user: {
            id: zou.ids.persons.supervisor,
            email: zou.logins.supervisor.email,
            role: 'supervisor',
            first_name: 'Sofia',
            last_name: 'Rossi',
          },
        });
      }
      const raw = await zou.call('/auth/authenticated', { cookie: token });
      expect(raw).toMatchObject({
        status: 200,
        body: { authenticated: true, organisation: { type: 'Organisation' } },
      });
    });

    it('answers the bot for its own token', async () => {
      const client = clientFor(zou, { token: zou.botToken });
      const answer = await client.authenticated(zou.botToken, { via: 'bearer' });
      expect(answer).toMatchObject({
        authenticated: true,
        user: { id: zou.ids.persons.bot, is_bot: true, role: 'manager', email: null },
      });
    });

    it("answers 401 without a token, with flask-jwt-extended's message", async () => {
      const answer = await zou.call('/auth/authenticated');
      expect(answer).toMatchObject({
        status: 401,
        body: {
          msg: 'Missing JWT in cookies or headers (Missing cookie "access_token_cookie"; Missing Authorization Header)',
        },
      });
      const notBearer = await zou.call('/auth/authenticated', { rawCookie: 'other=1' });
      expect(notBearer).toMatchObject({
        status: 401,
        body: { msg: expect.stringMatching(/^Missing JWT/) as unknown },
      });
    });

    it('answers 401 for an expired token, as a cookie and as a bearer', async () => {
      const client = clientFor(zou, { token: zou.botToken });
      const expired = zou.expiredToken('artist');
      for (const via of ['cookie', 'bearer'] as const) {
        expect(await client.authenticated(expired, { via })).toEqual({
          authenticated: false,
          status: 401,
          reason: 'Signature has expired',
        });
      }
      // Zou answers an expired token itself: `{ error, message }`, not flask-jwt-extended's `{ msg }`.
      expect(await zou.call('/auth/authenticated', { token: expired })).toMatchObject({
        status: 401,
        body: { error: true, message: 'Signature has expired' },
      });
    });

    it('answers 422 for a wrongly signed or a malformed token', async () => {
      const client = clientFor(zou, { token: zou.botToken });
      const wrong = zou.wronglySignedToken('artist');
      for (const via of ['cookie', 'bearer'] as const) {
        expect(await client.authenticated(wrong, { via })).toEqual({
          authenticated: false,
          status: 422,
          reason: 'Signature verification failed',
        });
      }
      expect(await client.authenticated('aaaa.bbbb.cccc')).toEqual({
        authenticated: false,
        status: 422,
        reason: expect.stringMatching(/^Invalid header string/) as unknown,
      });
      // Not a JWT at all: the client refuses it without asking; Zou would answer 422 too.
      expect(await client.authenticated('not-a-jwt')).toEqual({
        authenticated: false,
        status: null,
        reason: 'the token is not a JWT',
      });
      expect(await zou.call('/auth/authenticated', { cookie: 'not-a-jwt' })).toMatchObject({
        status: 422,
        body: { msg: 'Not enough segments' },
      });
    });

    it('reads the cookie first: a bad cookie wins over a good bearer', async () => {
      const good = await zou.sessionToken('artist');
      const answer = await zou.call('/auth/authenticated', {
        cookie: zou.wronglySignedToken('artist'),
        token: good,
      });
      expect(answer).toMatchObject({ status: 422, body: { msg: 'Signature verification failed' } });
      const both = await zou.call('/auth/authenticated', { cookie: good, token: zou.botToken });
      expect(both).toMatchObject({ status: 200, body: { user: { id: zou.ids.persons.artist } } });
    });

    it("takes a person's token signed with Zou's key that no login issued; 401 when the person is unknown", async () => {
      const now = Math.floor(Date.now() / 1000);
      const claims = {
        fresh: false,
        iat: now,
        jti: randomUUID(),
        type: 'access',
        nbf: now,
        exp: now + 600,
        identity_type: 'person',
      };
      const mine = zou.signedToken({ ...claims, sub: zou.ids.persons.lighter });
      expect(await zou.call('/auth/authenticated', { token: mine })).toMatchObject({
        status: 200,
        body: { user: { id: zou.ids.persons.lighter } },
      });
      const stranger = zou.signedToken({ ...claims, sub: randomUUID() });
      expect(await zou.call('/auth/authenticated', { token: stranger })).toMatchObject({
        status: 401,
        body: { error: true, message: expect.stringMatching(/^The server could not verify/) as unknown },
      });
      // Without an identity type, Zou counts the token as revoked.
      const anonymous = zou.signedToken({
        ...claims,
        identity_type: undefined,
        sub: zou.ids.persons.lighter,
      });
      expect(await zou.call('/auth/authenticated', { token: anonymous })).toMatchObject({
        status: 401,
        body: { msg: 'Token has been revoked' },
      });
    });
  });

  describe('the client', () => {
    it('logs in with email and password and reads as that person', async () => {
      const artist = clientFor(zou, zou.logins.artist);
      const task = await artist.getTask(zou.ids.tasks.layoutSh010);
      expect(task).toMatchObject({ id: zou.ids.tasks.layoutSh010, assignees: [zou.ids.persons.artist] });
      const moon = zou.ids.tasks.moon[0] ?? '';
      await expect(artist.getTask(moon)).rejects.toMatchObject({ name: 'ZouError', status: 403 });
    });

    it('throws ZouAuthError for a wrong password, naming the login', async () => {
      const client = clientFor(zou, { email: zou.logins.artist.email, password: 'not-the-password' });
      const error = await client.listTaskTypes().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ZouAuthError);
      expect(error).toMatchObject({
        status: 400,
        route: '/auth/login',
        zouMessage: 'Wrong email or password.',
      });
    });

    it('throws ZouAuthError for a bot token Zou refuses (422 for a wrong signature)', async () => {
      const client = clientFor(zou, { token: zou.wronglySignedToken('bot') });
      const error = await client.listTaskTypes().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ZouAuthError);
      expect(error).toBeInstanceOf(ZouError);
      expect(error).toMatchObject({ status: 422, zouMessage: 'Signature verification failed' });
    });
  });
});
