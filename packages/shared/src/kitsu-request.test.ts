import { describe, expect, it } from 'vitest';
import { ActionRequest, normalizeKitsuRequest, RequestProblem, VerifiedRequest } from './kitsu-request.ts';

const context = {
  actionId: 'debug',
  actionName: 'Debug',
  requirePerson: true,
  mode: 'form' as const,
  maxSelection: 3,
  receivedAt: new Date('2026-01-02T03:04:05Z'),
};
const person = 'B01BAE1E-F829-458A-A1EB-131BB66628CC';
const a = '95c171e1-dfff-498f-93e3-548a739e3202';
const b = '0b7e3c1a-5f7d-4b43-9a51-2c9f0c8d1e11';

describe('normalizeKitsuRequest', () => {
  it('lowercases ids, trims and dedupes the selection, and defaults the entity type to episode', () => {
    const request = normalizeKitsuRequest(
      { personid: person, selection: ` ${a}, ${b},${a.toUpperCase()},` },
      context,
    );
    expect(request).toEqual({
      actionId: 'debug',
      personId: person.toLowerCase(),
      taskIds: [a, b],
      entityType: 'episode',
      origin: {},
      mode: 'form',
      receivedAt: '2026-01-02T03:04:05.000Z',
    });
  });

  it('accepts a repeated form field and the selection[] spelling', () => {
    expect(normalizeKitsuRequest({ personid: person, selection: [a, b] }, context).taskIds).toEqual([a, b]);
    expect(normalizeKitsuRequest({ personid: person, 'selection[]': [b] }, context).taskIds).toEqual([b]);
  });

  it('counts the limit after removing duplicates', () => {
    const c = 'c3d2a9f4-71b8-4e0a-bf3e-5a6d7e8f9012';
    const d = 'd3d2a9f4-71b8-4e0a-bf3e-5a6d7e8f9012';
    expect(
      normalizeKitsuRequest({ personid: person, selection: [a, b, c, a, b] }, context).taskIds,
    ).toHaveLength(3);
    expect(() => normalizeKitsuRequest({ personid: person, selection: [a, b, c, d] }, context)).toThrow(
      RequestProblem,
    );
  });

  it('truncates a huge bad value in its message', () => {
    const huge = 'x'.repeat(10_000);
    expect(() => normalizeKitsuRequest({ personid: person, selection: huge }, context)).toThrow(
      /"x{60}… \(10000 characters\)", which is not a Kitsu task id/,
    );
  });

  it('a request naming nobody is refused first when it must name its person, and kept without one otherwise', () => {
    // Nothing else is right either: the missing person is what the answer names.
    expect(() => normalizeKitsuRequest({ entitytype: 'planet' }, context)).toThrow(
      expect.objectContaining({ name: 'RequestProblem', code: 'missing_field', field: 'personid' }),
    );
    const anonymous = normalizeKitsuRequest({ selection: a }, { ...context, requirePerson: false });
    expect(anonymous).not.toHaveProperty('personId');
    expect(ActionRequest.parse(anonymous)).toEqual(anonymous);
    // Not a request a job may store until someone is bound to it.
    expect(VerifiedRequest.safeParse(anonymous).success).toBe(false);
    expect(VerifiedRequest.parse({ ...anonymous, personId: person.toLowerCase() }).personId).toBe(
      person.toLowerCase(),
    );
  });
});
