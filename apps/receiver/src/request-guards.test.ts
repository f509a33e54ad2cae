import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { request } from 'node:http';
import { afterEach, beforeEach, describe, expect, inject, it, onTestFinished, vi } from 'vitest';
import { JobData, jsonBytes } from '@kitsu-actions/shared';
import { recordingLogger, type LogLine } from '@kitsu-actions/testing';
import { startReceiver, type ReceiverHarness } from '../test/harness.ts';
import { maxJsonDepth } from './routes/actions.ts';

const person = 'b01bae1e-f829-458a-a1eb-131bb66628cc';
const limit = 64 * 1024;

/** `debug` also runs on GET (method: get). */
const catalogueYaml = `
actions:
  - { id: debug, name: Debug selection, kind: debug, method: get }
`;

interface Answer {
  status: number;
  body: { error?: { code: string; message: string }; jobId?: string; deduplicated?: boolean; state?: string };
}

/**
 * A POST written as given: `chunks` go out with Transfer-Encoding: chunked (no Content-Length), a
 * string body with its Content-Length, and no header is added that the test did not name.
 */
function post(
  baseUrl: string,
  options: { path?: string; headers?: Record<string, string>; body?: string; chunks?: string[] },
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(baseUrl);
    const headers: Record<string, string> = { Accept: 'application/json', ...options.headers };
    if (options.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(options.body));
    const sent = request({ hostname, port, method: 'POST', path: options.path ?? '/actions/debug', headers });
    sent.on('response', (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) as Answer['body'] }),
      );
    });
    sent.on('error', reject);
    if (options.body !== undefined) sent.end(options.body);
    else {
      for (const chunk of options.chunks ?? []) sent.write(chunk);
      sent.end();
    }
  });
}

/** Kitsu's AJAX body; each selects a task of its own, so that no two are one double click. */
/** A JSON POST of `body` to `path`. */
const postTo = (baseUrl: string, path: string, body: string): Promise<Answer> =>
  post(baseUrl, { path, headers: { 'Content-Type': 'application/json' }, body });

const kitsuJson = (extra: Record<string, unknown> = {}, task = randomUUID()): string =>
  JSON.stringify({ userid: person, selection: [task], ...extra });

/** Kitsu's body with one extra field whose lists nest so that the whole body is `depth` levels deep. */
const nestedTo = (depth: number): string =>
  `{"userid":"${person}","selection":["${randomUUID()}"],"extra":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;

describe('the guards before a request is parsed and read', () => {
  let harness: ReceiverHarness;
  let lines: LogLine[];
  // A receiver per test: what the router sets up as it is built (the body parser's options) is then
  // part of every test, for mutation testing's per-test coverage too.
  beforeEach(async () => {
    const recorded = recordingLogger();
    lines = recorded.lines;
    harness = await startReceiver({
      redisUrl: inject('redisUrl'),
      env: { BODY_LIMIT: '64kb' },
      catalogueYaml,
      logger: recorded.logger,
    });
  });
  afterEach(() => harness.close());

  const storedJob = async (jobId: string | undefined): Promise<JobData> => {
    const found = await harness.queues.find(jobId ?? 'no id');
    return JobData.parse(found?.job.data);
  };

  it('accepts a body of exactly BODY_LIMIT bytes and refuses one byte more before parsing it', async () => {
    const json = kitsuJson({ note: 'a' });
    const exact = json + ' '.repeat(limit - json.length);
    expect(Buffer.byteLength(exact)).toBe(limit);
    const accepted = await post(harness.baseUrl, {
      headers: { 'Content-Type': 'application/json' },
      body: exact,
    });
    expect(accepted.status).toBe(202);
    const over = await post(harness.baseUrl, {
      headers: { 'Content-Type': 'application/json' },
      body: `${exact} `,
    });
    expect(over.status).toBe(413);
    expect(over.body.error).toEqual({
      code: 'payload_too_large',
      message: `The request body is larger than the limit of ${limit} bytes.`,
    });
  });

  it('reads a POST without a body as one without fields (400), not as a content type it lacks (415)', async () => {
    const before = await harness.jobCount();
    const answer = await post(harness.baseUrl, { body: '' });
    expect(answer.status).toBe(400);
    expect(answer.body.error?.code).toBe('missing_field');
    expect(await harness.jobCount()).toBe(before);
  });

  it('refuses a chunked body (no Content-Length) of a type Kitsu never sends, naming the type or its absence', async () => {
    const plain = await post(harness.baseUrl, {
      headers: { 'Content-Type': 'text/plain' },
      chunks: ['selection=', randomUUID()],
    });
    expect(plain.status).toBe(415);
    expect(plain.body.error?.code).toBe('unsupported_media_type');
    expect(plain.body.error?.message).toMatch(
      /^Content-Type "text\/plain" is not accepted; send application\/json/,
    );
    const untyped = await post(harness.baseUrl, { chunks: ['selection=', randomUUID()] });
    expect(untyped.status).toBe(415);
    expect(untyped.body.error?.message).toMatch(/^Content-Type "none" is not accepted/);
  });

  it('accepts a chunked JSON body and keeps what was sent, with its type, for the debug page', async () => {
    const json = kitsuJson();
    const answer = await post(harness.baseUrl, {
      headers: { 'Content-Type': 'application/json' },
      chunks: [json.slice(0, 20), json.slice(20)],
    });
    expect(answer.status).toBe(202);
    const raw = (await storedJob(answer.body.jobId)).raw;
    expect(raw).toMatchObject({
      method: 'POST',
      url: '/actions/debug',
      contentType: 'application/json',
      body: json,
    });
  });

  it('keeps a GET request without a body or a content type, as it came', async () => {
    const task = randomUUID();
    const response = await fetch(`${harness.baseUrl}/actions/debug?personid=${person}&selection=${task}`, {
      headers: { Accept: 'application/json' },
    });
    expect(response.status).toBe(202);
    const { jobId } = (await response.json()) as { jobId: string };
    const raw = (await storedJob(jobId)).raw;
    expect(raw?.method).toBe('GET');
    expect(raw?.body).toBe('');
    expect(raw && 'contentType' in raw).toBe(false);
    expect(raw?.fields).toEqual({ personid: person, selection: task });
  });

  it(`accepts a body nested exactly ${maxJsonDepth} levels deep and refuses ${maxJsonDepth + 1}`, async () => {
    const type = { 'Content-Type': 'application/json' };
    const deepest = await post(harness.baseUrl, { headers: type, body: nestedTo(maxJsonDepth) });
    expect(deepest.status).toBe(202);
    const deeper = await post(harness.baseUrl, { headers: type, body: nestedTo(maxJsonDepth + 1) });
    expect(deeper.status).toBe(400);
    expect(deeper.body.error?.code).toBe('too_deeply_nested');
    // The nesting is counted the same wherever the deep value sits: first, last, in an object.
    const first = `{"extra":${'['.repeat(maxJsonDepth)}${']'.repeat(maxJsonDepth)},"userid":"${person}","selection":["${randomUUID()}"]}`;
    expect((await post(harness.baseUrl, { headers: type, body: first })).status).toBe(400);
    const objects = kitsuJson({
      extra: JSON.parse(`${'{"a":'.repeat(maxJsonDepth)}1${'}'.repeat(maxJsonDepth)}`) as unknown,
    });
    expect((await post(harness.baseUrl, { headers: type, body: objects })).body.error?.code).toBe(
      'too_deeply_nested',
    );
  });

  it('walks null, numbers, booleans and long strings in a body as leaves, not as nesting', async () => {
    const body = kitsuJson({ a: null, b: 1, c: true, d: 'x'.repeat(100), e: [null, 'y', 2], f: {} });
    const answer = await post(harness.baseUrl, { headers: { 'Content-Type': 'application/json' }, body });
    expect(answer.status).toBe(202);
  });

  it('logs each acceptance with the job, the action, the person, the task count, the mode and whether it was a double click', async () => {
    const body = kitsuJson({ note: 'logged' });
    const first = await post(harness.baseUrl, { headers: { 'Content-Type': 'application/json' }, body });
    const second = await post(harness.baseUrl, { headers: { 'Content-Type': 'application/json' }, body });
    expect(second.body).toMatchObject({ jobId: first.body.jobId, deduplicated: true, state: 'queued' });
    const logged = lines.filter((line) => line['jobId'] === first.body.jobId);
    expect(
      logged.map(({ msg, actionId, personId, tasks, mode, deduplicated }) => ({
        msg,
        actionId,
        personId,
        tasks,
        mode,
        deduplicated,
      })),
    ).toEqual([
      { msg: 'job queued', actionId: 'debug', personId: person, tasks: 1, mode: 'ajax', deduplicated: false },
      {
        msg: 'duplicate request: same job',
        actionId: 'debug',
        personId: person,
        tasks: 1,
        mode: 'ajax',
        deduplicated: true,
      },
    ]);
    expect(logged.every((line) => line.level === 30)).toBe(true);
  });

  it('answers 413 as soon as the headers announce too large a multipart body, without waiting for it', async () => {
    const { hostname, port } = new URL(harness.baseUrl);
    const sent = request({
      hostname,
      port,
      method: 'POST',
      path: '/actions/debug',
      headers: {
        Accept: 'application/json',
        'Content-Type': 'multipart/form-data; boundary=b0',
        'Content-Length': limit + 1,
      },
    });
    onTestFinished(() => void sent.destroy());
    sent.flushHeaders();
    // Not one byte of the body is sent: only the guard before the parser can answer (the JSON and form
    // parsers would too, from the header; the multipart one reads the body first).
    const status = await new Promise<number>((resolve, reject) => {
      sent.on('response', (response) => resolve(response.statusCode ?? 0));
      sent.on('error', reject);
      // A receiver that waits for the body would answer only when its request timeout ends it.
      const waited = setTimeout(() => reject(new Error('no answer while the body was held back')), 5000);
      onTestFinished(() => clearTimeout(waited));
    });
    expect(status).toBe(413);
  });

  it('refuses a file part, even an empty one, without writing any of it to disk', async () => {
    const writes = vi.spyOn(fs, 'createWriteStream');
    onTestFinished(() => writes.mockRestore());
    const boundary = 'b0';
    const part = (name: string, value: string, filename?: string): string =>
      `--${boundary}\r\nContent-Disposition: form-data; name="${name}"${filename === undefined ? '' : `; filename="${filename}"\r\nContent-Type: text/plain`}\r\n\r\n${value}\r\n`;
    const fields = [part('personid', person), part('selection', randomUUID())];
    for (const file of ['not a Kitsu field', '']) {
      const answer = await post(harness.baseUrl, {
        headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}` },
        body: `${[...fields, part('upload', file, 'notes.txt')].join('')}--${boundary}--\r\n`,
      });
      expect({ file, status: answer.status, code: answer.body.error?.code }).toEqual({
        file,
        status: 400,
        code: 'file_not_accepted',
      });
    }
    expect(writes).not.toHaveBeenCalled();
  });
});

describe('the action routes, each on a receiver of its own', () => {
  it('an unknown action on a receiver without actions says there are none', async () => {
    const harness = await startReceiver({ redisUrl: inject('redisUrl'), catalogueYaml: 'actions: []' });
    onTestFinished(() => harness.close());
    const answer = await post(harness.baseUrl, {
      headers: { 'Content-Type': 'application/json' },
      body: kitsuJson(),
    });
    expect(answer.status).toBe(404);
    expect(answer.body.error).toEqual({
      code: 'unknown_action',
      message: 'There is no action "debug" here (known actions: none).',
    });
  });

  it('keeps the shared secret out of the fields of a GET request (AUTH_MODE=token)', async () => {
    const secret = 'guards-test-secret-0123456789';
    const harness = await startReceiver({
      redisUrl: inject('redisUrl'),
      catalogueYaml,
      env: { AUTH_MODE: 'token', ACTIONS_TOKEN: secret },
    });
    onTestFinished(() => harness.close());
    const task = randomUUID();
    const response = await fetch(
      `${harness.baseUrl}/actions/debug?personid=${person}&selection=${task}&token=${secret}`,
      { headers: { Accept: 'application/json' } },
    );
    expect(response.status).toBe(202);
    const { jobId } = (await response.json()) as { jobId: string };
    const found = await harness.queues.find(jobId);
    const raw = JobData.parse(found?.job.data).raw;
    expect(raw?.fields).toEqual({ personid: person, selection: task });
    expect(JSON.stringify(found?.job.data)).not.toContain(secret);
  });

  it('stores job data of exactly JOB_DATA_LIMIT and refuses one byte more, saying how large it was', async () => {
    const stats = 'actions:\n  - { id: stats, name: Production statistics, kind: stats }\n';
    const taskIds = Array.from({ length: 1800 }, () => randomUUID());
    const body = (path: string): string =>
      JSON.stringify({ userid: person, selection: taskIds, originurl: path });
    // One receiver measures the job data this request makes; a second one allows exactly that much.
    const env = { MAX_SELECTION: '2000', BODY_LIMIT: '1mb', DEDUP_WINDOW_MS: '0' };
    const measuring = await startReceiver({
      redisUrl: inject('redisUrl'),
      catalogueYaml: stats,
      env: { ...env, JOB_DATA_LIMIT: '1mb' },
    });
    onTestFinished(() => measuring.close());
    const measured = await postTo(measuring.baseUrl, '/actions/stats', body('/a'));
    expect(measured.status).toBe(202);
    const size = jsonBytes((await measuring.queues.find(measured.body.jobId ?? ''))?.job.data);
    expect(size).toBeGreaterThan(64 * 1024);
    const exact = await startReceiver({
      redisUrl: inject('redisUrl'),
      catalogueYaml: stats,
      env: { ...env, JOB_DATA_LIMIT: String(size), RAW_REQUEST_LIMIT: '32kb' },
    });
    onTestFinished(() => exact.close());
    expect((await postTo(exact.baseUrl, '/actions/stats', body('/b'))).status).toBe(202);
    const before = await exact.jobCount();
    const over = await postTo(exact.baseUrl, '/actions/stats', body('/bb'));
    expect(over.status).toBe(413);
    expect(over.body.error?.code).toBe('too_large_to_store');
    expect((over.body.error as { details?: unknown } | undefined)?.details).toEqual({
      bytes: size + 1,
      limit: size,
    });
    expect(await exact.jobCount()).toBe(before);
  });

  it('answers a double click of a job already done with that job and its state', async () => {
    const harness = await startReceiver({ redisUrl: inject('redisUrl'), catalogueYaml });
    onTestFinished(() => harness.close());
    const body = kitsuJson();
    const first = await postTo(harness.baseUrl, '/actions/debug', body);
    expect(first.body).toMatchObject({ deduplicated: false, state: 'queued' });
    harness.startWorker();
    const done = await harness.waitForJob(first.body.jobId ?? '');
    expect(done['state']).toBe('completed');
    const again = await postTo(harness.baseUrl, '/actions/debug', body);
    expect(again.status).toBe(202);
    expect(again.body).toMatchObject({ jobId: first.body.jobId, deduplicated: true, state: 'completed' });
  });
});
