import { describe, expect, it } from 'vitest';
import {
  ActionRequest,
  knownKitsuFields,
  missingPerson,
  normalizeKitsuRequest,
  preview,
  RequestProblem,
  VerifiedRequest,
} from './kitsu-request.ts';

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

/** The RequestProblem that normalizing `fields` throws. */
function problem(fields: Record<string, unknown>, overrides: Partial<typeof context> = {}): RequestProblem {
  try {
    normalizeKitsuRequest(fields, { ...context, ...overrides });
  } catch (error) {
    if (error instanceof RequestProblem) return error;
    throw error;
  }
  throw new Error('the request was accepted');
}

describe('normalizeKitsuRequest: each field Kitsu sends', () => {
  const project = '5A2E1C3D-0B1F-4E2A-9C3D-7E8F90A1B2C3';

  it('reads every spelling of every field into one request, nothing else', () => {
    const request = normalizeKitsuRequest(
      {
        userid: person,
        useremail: 'artist.name@studio.example',
        productionid: project,
        entitytype: 'Shot',
        originserver: 'https://kitsu.studio.example',
        originurl: '/productions/x/shots',
        selection: a,
        extra: 'kept for the debug page, never read',
      },
      context,
    );
    expect(request).toStrictEqual({
      actionId: 'debug',
      personId: person.toLowerCase(),
      personEmail: 'artist.name@studio.example',
      projectId: project.toLowerCase(),
      taskIds: [a],
      entityType: 'shot',
      origin: { server: 'https://kitsu.studio.example', path: '/productions/x/shots' },
      mode: 'form',
      receivedAt: '2026-01-02T03:04:05.000Z',
    });
    const other = normalizeKitsuRequest(
      {
        personid: person,
        personemail: 'td@studio.example',
        projectid: project,
        currentserver: 'https://kitsu.other.example',
        currentpath: '/my-tasks',
        selection: a,
      },
      context,
    );
    expect(other).toMatchObject({
      personId: person.toLowerCase(),
      personEmail: 'td@studio.example',
      projectId: project.toLowerCase(),
      origin: { server: 'https://kitsu.other.example', path: '/my-tasks' },
    });
  });

  it('leaves out what was not sent rather than storing it as undefined', () => {
    const anonymous = { ...context, requirePerson: false };
    const request = normalizeKitsuRequest({ selection: a }, anonymous);
    for (const key of ['personId', 'personEmail', 'projectId']) expect(request).not.toHaveProperty(key);
    expect(request.origin).toStrictEqual({});
    expect(normalizeKitsuRequest({ selection: a, originserver: 's' }, anonymous).origin).toStrictEqual({
      server: 's',
    });
    expect(normalizeKitsuRequest({ selection: a, currentpath: '/p' }, anonymous).origin).toStrictEqual({
      path: '/p',
    });
  });

  it('takes each entity type Kitsu sends, in any case, and names them when given another', () => {
    for (const type of ['asset', 'shot', 'sequence', 'edit', 'episode']) {
      expect(
        normalizeKitsuRequest({ personid: person, selection: a, entitytype: type }, context).entityType,
      ).toBe(type);
    }
    expect(
      normalizeKitsuRequest({ personid: person, selection: a, entitytype: 'ASSET' }, context).entityType,
    ).toBe('asset');
    expect(problem({ personid: person, selection: a, entitytype: 'planet' })).toMatchObject({
      code: 'invalid_field',
      field: 'entitytype',
      message: 'entitytype "planet" is not one Kitsu sends (asset, shot, sequence, edit, episode)',
    });
  });

  it('refuses an id that is not a UUID, whole, and trims and lowercases one that is', () => {
    expect(problem({ userid: 'nope', selection: a })).toMatchObject({
      code: 'invalid_id',
      field: 'userid',
      message: 'The person id (userid/personid) must be a Kitsu id (a UUID), got "nope"',
    });
    expect(problem({ personid: person, productionid: `${project}x`, selection: a })).toMatchObject({
      code: 'invalid_id',
      field: 'productionid',
      message: `The production id (productionid/projectid) must be a Kitsu id (a UUID), got "${project}x"`,
    });
    expect(problem({ personid: `x${person}`, selection: a }).code).toBe('invalid_id');
    const padded = normalizeKitsuRequest(
      { personid: ` ${person} `, projectid: ` ${project}\n`, selection: a },
      context,
    );
    expect(padded.personId).toBe(person.toLowerCase());
    expect(padded.projectId).toBe(project.toLowerCase());
  });

  it('takes an address as the email and refuses anything else', () => {
    for (const email of ['ab@c', 'a@bc', 'first.last+tag@studio.example']) {
      expect(
        normalizeKitsuRequest({ personid: person, useremail: email, selection: a }, context).personEmail,
      ).toBe(email);
    }
    for (const email of ['not-an-address', 'x y@studio.example', 'a@b c', '@studio.example', 'a@', 'a@b@c']) {
      expect(problem({ personid: person, useremail: email, selection: a })).toMatchObject({
        code: 'invalid_field',
        field: 'personemail',
        message: `The person's email "${email}" is not an address`,
      });
    }
  });

  it('counts null and empty fields as not sent', () => {
    expect(normalizeKitsuRequest({ userid: null, personid: person, selection: a }, context).personId).toBe(
      person.toLowerCase(),
    );
    expect(normalizeKitsuRequest({ userid: '', personid: person, selection: a }, context).personId).toBe(
      person.toLowerCase(),
    );
    expect(problem({ userid: '', personid: null, selection: a }).code).toBe('missing_field');
  });

  it('takes a field repeated with one value, and refuses one repeated with different values', () => {
    expect(normalizeKitsuRequest({ personid: [person, person], selection: a }, context).personId).toBe(
      person.toLowerCase(),
    );
    expect(problem({ personid: [person, a], selection: a })).toMatchObject({
      code: 'conflicting_fields',
      field: 'personid',
      message: 'personid was sent 2 times with different values',
    });
  });

  it('refuses two spellings of one field that disagree, and takes them when they agree', () => {
    expect(normalizeKitsuRequest({ userid: person, personid: person, selection: a }, context).personId).toBe(
      person.toLowerCase(),
    );
    expect(problem({ userid: person, personid: a, selection: a })).toMatchObject({
      code: 'conflicting_fields',
      field: 'personid',
      message: `userid (${person}) and personid (${a}) disagree`,
    });
  });

  it('refuses a field that is not text', () => {
    expect(problem({ personid: 42, selection: a })).toMatchObject({
      code: 'invalid_field',
      field: 'personid',
      message: 'personid must be a text value, got 42',
    });
    expect(problem({ personid: person, entitytype: { shot: true }, selection: a })).toMatchObject({
      code: 'invalid_field',
      field: 'entitytype',
      message: 'entitytype must be a text value, got {"shot":true}',
    });
  });

  it('refuses a field over its length, and takes one at it', () => {
    const longest = `a@${'b'.repeat(318)}`;
    expect(longest).toHaveLength(320);
    expect(
      normalizeKitsuRequest({ personid: person, useremail: longest, selection: a }, context).personEmail,
    ).toBe(longest);
    expect(problem({ personid: person, useremail: `${longest}b`, selection: a })).toMatchObject({
      code: 'invalid_field',
      field: 'useremail',
      message: 'useremail is too long (321 characters, at most 320)',
    });
    expect(problem({ personid: person, entitytype: 'x'.repeat(41), selection: a }).message).toBe(
      'entitytype is too long (41 characters, at most 40)',
    );
  });
});

describe('normalizeKitsuRequest: the selection', () => {
  it('says so when no selection was sent, or an empty one', () => {
    // JSON may say null under both spellings.
    for (const sent of [{}, { selection: null }, { selection: null, 'selection[]': null }]) {
      expect(problem({ personid: person, ...sent })).toMatchObject({
        code: 'empty_selection',
        field: 'selection',
        message: 'No selection was sent. Select at least one task before running "Debug".',
      });
    }
    for (const selection of ['', ' , ', [',', ' ']]) {
      expect(problem({ personid: person, selection })).toMatchObject({
        code: 'empty_selection',
        field: 'selection',
        message: 'The selection is empty. Select at least one task before running "Debug".',
      });
    }
  });

  it('splits comma-joined ids inside a repeated field', () => {
    expect(normalizeKitsuRequest({ personid: person, selection: [`${a},${b}`] }, context).taskIds).toEqual([
      a,
      b,
    ]);
  });

  it('refuses a selection that is not a list of text ids', () => {
    expect(problem({ personid: person, selection: { ids: [a] } })).toMatchObject({
      code: 'invalid_selection',
      field: 'selection',
      message: `selection must be a list of task ids, got {"ids":["${a}"]}`,
    });
    expect(problem({ personid: person, selection: [a, 5] })).toMatchObject({
      code: 'invalid_selection',
      field: 'selection',
      message: 'selection must hold task ids as text, got 5',
    });
  });

  it('names the id that is not one, and the limit when too many are selected', () => {
    expect(problem({ personid: person, selection: `${a},task-1` })).toMatchObject({
      code: 'invalid_id',
      field: 'selection',
      message: 'selection holds "task-1", which is not a Kitsu task id',
    });
    const c = 'c3d2a9f4-71b8-4e0a-bf3e-5a6d7e8f9012';
    const d = 'd3d2a9f4-71b8-4e0a-bf3e-5a6d7e8f9012';
    expect(problem({ personid: person, selection: [a, b, c, d] })).toMatchObject({
      code: 'too_many_tasks',
      field: 'selection',
      message: '4 tasks were selected; "Debug" accepts at most 3 at once. Select fewer tasks.',
    });
  });
});

describe('preview and missingPerson', () => {
  it('shows a value as text, whole up to the limit and shortened past it', () => {
    expect(preview('abc')).toBe('abc');
    expect(preview({ a: 1 })).toBe('{"a":1}');
    expect(preview(undefined)).toBe('undefined');
    expect(preview('x'.repeat(60))).toBe('x'.repeat(60));
    expect(preview('x'.repeat(61))).toBe(`${'x'.repeat(60)}… (61 characters)`);
    expect(preview('abcdef', 3)).toBe('abc… (6 characters)');
  });

  it('names the fields a request must use to say who is calling', () => {
    expect(missingPerson()).toMatchObject({
      name: 'RequestProblem',
      code: 'missing_field',
      field: 'personid',
      message: 'The request does not say who is running the action (no userid or personid).',
    });
  });
});

describe('the request schemas', () => {
  const request = normalizeKitsuRequest(
    {
      personid: person,
      selection: [a, b],
      entitytype: 'shot',
      originserver: 'https://kitsu.studio.example',
      currentpath: '/p',
    },
    context,
  );

  it('read back a stored request whole, in each mode Kitsu reaches us by', () => {
    for (const mode of ['ajax', 'form', 'get'] as const) {
      expect(ActionRequest.parse({ ...request, mode })).toStrictEqual({ ...request, mode });
    }
    const verified = {
      ...request,
      projectIds: [b],
      identity: { mode: 'zou-session' as const, role: 'supervisor' },
    };
    expect(VerifiedRequest.parse(verified)).toStrictEqual(verified);
  });

  it('refuse a request without tasks', () => {
    expect(ActionRequest.safeParse({ ...request, taskIds: [] }).success).toBe(false);
  });

  it('name every field Kitsu sends as known, and only those', () => {
    expect([...knownKitsuFields].sort()).toEqual([
      'currentpath',
      'currentserver',
      'entitytype',
      'originserver',
      'originurl',
      'personemail',
      'personid',
      'productionid',
      'projectid',
      'selection',
      'selection[]',
      'useremail',
      'userid',
    ]);
  });
});
