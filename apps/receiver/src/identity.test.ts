import { describe, expect, it } from 'vitest';
import { normalizeKitsuRequest, RequestProblem, VerifiedRequest } from '@kitsu-actions/shared';
import type { Person } from '@kitsu-actions/zou';
import { HttpProblem } from './errors.ts';
import { bindCaller, type Caller } from './identity.ts';

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
