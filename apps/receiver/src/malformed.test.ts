import { request } from 'node:http';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { JobData } from '@kitsu-actions/shared';
import { startReceiver, type ReceiverHarness } from '../test/harness.ts';

const person = 'b01bae1e-f829-458a-a1eb-131bb66628cc';
const project = 'fa4d7f04-b8e0-4518-8dbc-2f24997ca76e';
const task = '95c171e1-dfff-498f-93e3-548a739e3202';
const ajax = { userid: person, productionid: project, entitytype: 'shot', selection: [task] };

interface Case {
  fault: string;
  status: number;
  code: string;
  message: RegExp;
  method?: string;
  path?: string;
  type?: string;
  body?: string;
  headers?: Record<string, string>;
}

const json = (value: unknown): string => JSON.stringify(value);
const form = (fields: Record<string, string>): string => new URLSearchParams(fields).toString();
const formType = 'application/x-www-form-urlencoded';

// Short, so that 1,001 parts stay under this suite's 64 KiB body limit.
const boundary = 'b0';
const multipartType = `multipart/form-data; boundary=${boundary}`;
const part = (name: string, value: string, filename?: string): string =>
  `--${boundary}\r\nContent-Disposition: form-data; name="${name}"${filename === undefined ? '' : `; filename="${filename}"\r\nContent-Type: text/plain`}\r\n\r\n${value}\r\n`;
const multipart = (parts: string[]): string => `${parts.join('')}--${boundary}--\r\n`;
const kitsuParts = [part('personid', person), part('selection', task), part('entitytype', 'shot')];

/** Kitsu's AJAX body with one extra field nested `depth` levels deep (lists in lists). */
const nested = (depth: number): string =>
  `{"userid":"${person}","selection":["${task}"],"extra":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;

/** The catalogue of these tests: `debug` is also served on GET (method: get), `render-flamenco` is not. */
const catalogueYaml = `
actions:
  - { id: debug, name: Debug selection, kind: debug, method: get }
  - { id: render-flamenco, name: Render on Flamenco, kind: debug, entityType: shot, ajax: true }
`;

// Each case is a different fault; every one must be refused with its own message and queue nothing.
const cases: Case[] = [
  {
    fault: 'empty selection array',
    status: 400,
    code: 'empty_selection',
    body: json({ ...ajax, selection: [] }),
    message: /Select at least one task before running "Debug selection"/,
  },
  {
    fault: 'empty selection string (form)',
    status: 400,
    code: 'empty_selection',
    type: formType,
    body: form({ personid: person, selection: '' }),
    message: /The selection is empty. Select at least one task/,
  },
  {
    fault: 'selection of commas only',
    status: 400,
    code: 'empty_selection',
    type: formType,
    body: form({ personid: person, selection: ',, ,' }),
    message: /The selection is empty/,
  },
  {
    fault: 'selection missing',
    status: 400,
    code: 'empty_selection',
    body: json({ userid: person }),
    message: /No selection was sent/,
  },
  {
    fault: 'non-UUID task id',
    status: 400,
    code: 'invalid_id',
    body: json({ ...ajax, selection: [task, 'shot-010'] }),
    message: /"shot-010", which is not a Kitsu task id/,
  },
  {
    fault: 'number in the selection',
    status: 400,
    code: 'invalid_selection',
    body: json({ ...ajax, selection: [42] }),
    message: /task ids as text, got 42/,
  },
  {
    fault: 'selection is an object',
    status: 400,
    code: 'invalid_selection',
    body: json({ ...ajax, selection: { id: task } }),
    message: /selection must be a list of task ids/,
  },
  {
    fault: 'no person',
    status: 400,
    code: 'missing_field',
    body: json({ selection: [task] }),
    message: /does not say who is running the action/,
  },
  {
    fault: 'person id not a UUID',
    status: 400,
    code: 'invalid_id',
    body: json({ ...ajax, userid: 'admin' }),
    message: /person id \(userid\/personid\) must be a Kitsu id \(a UUID\), got "admin"/,
  },
  {
    fault: 'malformed project id',
    status: 400,
    code: 'invalid_id',
    body: json({ ...ajax, productionid: 'fa4d7f04-nope' }),
    message: /production id .* got "fa4d7f04-nope"/,
  },
  {
    fault: 'person id is a number',
    status: 400,
    code: 'invalid_field',
    body: json({ ...ajax, userid: 12 }),
    message: /userid must be a text value, got 12/,
  },
  {
    fault: 'userid and personid disagree',
    status: 400,
    code: 'conflicting_fields',
    body: json({ ...ajax, personid: '2c2ab1b4-3b14-4f10-9a3c-3d27f7d0b0a1' }),
    message: /userid .* and personid .* disagree/,
  },
  {
    fault: 'productionid and projectid disagree',
    status: 400,
    code: 'conflicting_fields',
    body: json({ ...ajax, projectid: '2c2ab1b4-3b14-4f10-9a3c-3d27f7d0b0a1' }),
    message: /productionid .* and projectid .* disagree/,
  },
  {
    fault: 'person repeated with different values (form)',
    status: 400,
    code: 'conflicting_fields',
    type: formType,
    body: `personid=${person}&personid=2c2ab1b4-3b14-4f10-9a3c-3d27f7d0b0a1&selection=${task}`,
    message: /personid was sent 2 times with different values/,
  },
  {
    fault: 'unknown entity type',
    status: 400,
    code: 'invalid_field',
    body: json({ ...ajax, entitytype: 'planet' }),
    message: /entitytype "planet" is not one Kitsu sends/,
  },
  {
    fault: 'email that is not an address',
    status: 400,
    code: 'invalid_field',
    body: json({ ...ajax, useremail: 'not an email' }),
    message: /email "not an email" is not an address/,
  },
  {
    fault: 'page path too long',
    status: 400,
    code: 'invalid_field',
    body: json({ ...ajax, originurl: `/${'x'.repeat(3000)}` }),
    message: /originurl is too long \(3001 characters, at most 2048\)/,
  },
  {
    fault: 'JSON body is an array',
    status: 400,
    code: 'invalid_body',
    body: json([ajax]),
    message: /must be an object of Kitsu's fields/,
  },
  {
    fault: 'malformed JSON',
    status: 400,
    code: 'malformed_json',
    body: '{"userid": "b01bae1e-f829-458a-a1eb-131bb66628cc", "selection": [',
    message: /not valid JSON/,
  },
  { fault: 'JSON null', status: 400, code: 'malformed_json', body: 'null', message: /not valid JSON/ },
  {
    fault: 'unsupported content type',
    status: 415,
    code: 'unsupported_media_type',
    type: 'text/plain',
    body: 'selection=x',
    message: /Content-Type "text\/plain" is not accepted/,
  },
  {
    fault: 'XML body',
    status: 415,
    code: 'unsupported_media_type',
    type: 'application/xml',
    body: '<selection/>',
    message: /application\/xml/,
  },
  {
    fault: 'body over the limit',
    status: 413,
    code: 'payload_too_large',
    body: json({ ...ajax, padding: 'x'.repeat(70_000) }),
    message: /larger than the limit of 65536 bytes/,
  },
  {
    fault: 'more tasks than allowed',
    status: 413,
    code: 'too_many_tasks',
    body: json({
      ...ajax,
      selection: Array.from(
        { length: 11 },
        (_, i) => `95c171e1-dfff-498f-93e3-${String(i).padStart(12, '0')}`,
      ),
    }),
    message: /11 tasks were selected; "Debug selection" accepts at most 10/,
  },
  {
    fault: 'unknown action',
    status: 404,
    code: 'unknown_action',
    path: '/actions/rendr',
    body: json(ajax),
    message: /There is no action "rendr" here \(known actions: debug, render-flamenco\)/,
  },
  {
    fault: 'wrong method',
    status: 405,
    code: 'method_not_allowed',
    method: 'PUT',
    body: json(ajax),
    message: /^PUT is not allowed on \/actions\/debug\.$/,
  },
  {
    fault: 'GET without fields',
    status: 400,
    code: 'missing_field',
    method: 'GET',
    path: '/actions/debug',
    message: /does not say who is running/,
  },
  {
    fault: 'GET with a bad id',
    status: 400,
    code: 'invalid_id',
    method: 'GET',
    path: `/actions/debug?personid=${person}&selection=${task},1234`,
    message: /"1234", which is not a Kitsu task id/,
  },
  {
    fault: 'multipart without a boundary',
    status: 400,
    code: 'malformed_multipart',
    type: 'multipart/form-data',
    body: multipart(kitsuParts),
    message: /has no boundary/,
  },
  {
    fault: 'multipart with a file part',
    status: 400,
    code: 'file_not_accepted',
    type: multipartType,
    body: multipart([...kitsuParts, part('upload', 'not a Kitsu field', 'notes.txt')]),
    message: /carries a file; actions take fields only/,
  },
  {
    fault: 'truncated multipart',
    status: 400,
    code: 'malformed_multipart',
    type: multipartType,
    body: `${kitsuParts.join('')}--${boundary}\r\nContent-Disposition: form-data; name="entity`,
    message: /truncated or malformed/,
  },
  {
    fault: 'multipart with over 1,000 fields',
    status: 413,
    code: 'too_many_fields',
    type: multipartType,
    body: multipart([...kitsuParts, ...Array.from({ length: 1001 }, (_, i) => part(`f${i}`, 'x'))]),
    message: /more fields than accepted. At most 1000/,
  },
  {
    fault: 'form with over 1,000 fields',
    status: 413,
    code: 'too_many_fields',
    type: formType,
    body: `${form({ personid: person, selection: task })}&${Array.from({ length: 1001 }, (_, i) => `f${i}=x`).join('&')}`,
    message: /at most 1000 fields/,
  },
  {
    fault: 'JSON nested 4,500 deep',
    status: 400,
    code: 'too_deeply_nested',
    body: nested(4500),
    message: /more than 32 levels deep/,
  },
  {
    fault: 'JSON nested 3,000 deep',
    status: 400,
    code: 'too_deeply_nested',
    body: nested(3000),
    message: /more than 32 levels deep/,
  },
  {
    fault: 'JSON nested 33 deep',
    status: 400,
    code: 'too_deeply_nested',
    body: nested(33),
    message: /more than 32 levels deep/,
  },
  {
    fault: 'PROPFIND',
    status: 501,
    code: 'not_implemented',
    method: 'PROPFIND',
    message: /PROPFIND is not implemented here/,
  },
  {
    fault: 'GET on an action that is not method: get',
    status: 405,
    code: 'method_not_allowed',
    method: 'GET',
    path: `/actions/render-flamenco?userid=${person}&selection=${task}`,
    message: /"Render on Flamenco" is run with POST.*method: get/,
  },
];

/** A request fetch() refuses to send (TRACE, CONNECT), over a plain socket. */
function rawRequest(
  baseUrl: string,
  method: string,
  path: string,
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(baseUrl);
    const sent = request({ hostname, port, method, path, headers: { Accept: 'application/json' } });
    const answered = (status: number, headers: Record<string, unknown>, body: string): void =>
      resolve({ status, headers, body });
    sent.on('response', (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => answered(response.statusCode ?? 0, response.headers, body));
    });
    sent.on('connect', (response, socket) => {
      socket.destroy();
      answered(response.statusCode ?? 0, response.headers, '');
    });
    sent.on('error', reject);
    sent.end();
  });
}

describe('malformed requests', () => {
  let harness: ReceiverHarness;
  // A receiver per test: what the router sets up as it is built is part of every test (mutation testing
  // counts coverage per test).
  beforeEach(async () => {
    harness = await startReceiver({
      redisUrl: inject('redisUrl'),
      env: { BODY_LIMIT: '64kb', MAX_SELECTION: '10' },
      catalogueYaml,
    });
  });
  afterEach(() => harness.close());

  it('has at least 20 distinct faults', () => {
    expect(new Set(cases.map((entry) => entry.fault)).size).toBeGreaterThanOrEqual(20);
  });

  for (const entry of cases) {
    it(`${entry.fault} → ${entry.status} ${entry.code}`, async () => {
      const before = await harness.jobCount();
      const method = entry.method ?? 'POST';
      const response = await fetch(`${harness.baseUrl}${entry.path ?? '/actions/debug'}`, {
        method,
        headers: {
          Accept: 'application/json',
          ...(entry.body === undefined ? {} : { 'Content-Type': entry.type ?? 'application/json' }),
          ...entry.headers,
        },
        ...(entry.body === undefined ? {} : { body: entry.body }),
      });
      expect(response.status).toBe(entry.status);
      const body = (await response.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe(entry.code);
      expect(body.error.message).toMatch(entry.message);
      expect(await harness.jobCount()).toBe(before);
    });
  }

  it('TRACE, anywhere, is 501 not_implemented, not a 500', async () => {
    for (const path of ['/actions/debug', '/', '/jobs']) {
      const answer = await rawRequest(harness.baseUrl, 'TRACE', path);
      expect({ path, status: answer.status }).toEqual({ path, status: 501 });
      expect((JSON.parse(answer.body) as { error: { code: string } }).error.code).toBe('not_implemented');
    }
  });

  it('CONNECT is 405 with Allow, not a dropped connection', async () => {
    const answer = await rawRequest(harness.baseUrl, 'CONNECT', 'kitsu.studio.example:443');
    expect(answer.status).toBe(405);
    expect(answer.headers['allow']).toBe('GET, HEAD, POST, OPTIONS');
  });

  it('HEAD never runs an action: 405 with Allow', async () => {
    const before = await harness.jobCount();
    const response = await fetch(`${harness.baseUrl}/actions/debug?personid=${person}&selection=${task}`, {
      method: 'HEAD',
    });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, POST, OPTIONS');
    expect(await harness.jobCount()).toBe(before);
  });

  it('a method known for no route says which are', async () => {
    const response = await fetch(`${harness.baseUrl}/actions/debug`, {
      method: 'DELETE',
      headers: { Accept: 'application/json' },
    });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toMatch(/POST/);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error).toEqual({
      code: 'method_not_allowed',
      message: 'DELETE is not allowed on /actions/debug.',
    });
  });

  it('answers a browser with a readable page instead of JSON', async () => {
    const response = await fetch(`${harness.baseUrl}/actions/debug`, {
      method: 'POST',
      headers: { 'Content-Type': formType, Accept: 'text/html' },
      body: form({ personid: person, selection: '' }),
    });
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toContain('text/html');
    expect(await response.text()).toContain(
      'Select at least one task before running &quot;Debug selection&quot;',
    );
  });

  it('accepts a request with no project at all (My tasks page, entitytype episode)', async () => {
    const response = await fetch(`${harness.baseUrl}/actions/debug`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: json({
        userid: person,
        productionid: '',
        entitytype: 'episode',
        selection: [task],
        originurl: '/my-tasks',
      }),
    });
    expect(response.status).toBe(202);
    const { jobId } = (await response.json()) as { jobId: string };
    const found = await harness.queues.find(jobId);
    expect(found?.view.projectId).toBeUndefined();
    expect(JobData.parse(found?.job.data).request.entityType).toBe('episode');
  });
});
