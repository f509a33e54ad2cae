import { once } from 'node:events';
import { connect } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeAfanasy } from './index.ts';
import type { FakeAfanasy } from './index.ts';

/** Sends bytes, returns everything the server wrote until it closed the connection. */
async function exchange(farm: FakeAfanasy, bytes: Buffer | string): Promise<Buffer> {
  const socket = connect(farm.port, farm.host);
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  await once(socket, 'connect');
  socket.write(bytes);
  await once(socket, 'close');
  return Buffer.concat(chunks);
}

function raw(message: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(message), 'utf8');
  return Buffer.concat([Buffer.from(`AFANASY ${String(body.length)} JSON`), body]);
}

/** Sends a raw-framed message and parses the raw-framed answer, checking its length prefix. */
async function send(farm: FakeAfanasy, message: unknown): Promise<Record<string, unknown>> {
  const answer = await exchange(farm, raw(message));
  const match = /^AFANASY (\d+) JSON/.exec(answer.subarray(0, 40).toString('latin1'));
  if (match?.[1] === undefined) throw new Error(`not a raw answer: ${answer.toString()}`);
  const body = answer.subarray(match[0].length);
  expect(body.length).toBe(Number(match[1]));
  return JSON.parse(body.toString('utf8')) as Record<string, unknown>;
}

function renderJob(overrides: Record<string, unknown> = {}, block: Record<string, unknown> = {}) {
  return {
    name: 'SPF_SH010 lighting',
    user_name: 'kitsu-actions',
    host_name: 'worker-1',
    priority: 99,
    custom_data: JSON.stringify({ kitsu_actions_submission_key: 'key-1' }),
    blocks: [
      {
        name: 'render',
        service: 'blender',
        parser: 'blender',
        flags: 1,
        frame_first: 1001,
        frame_last: 1048,
        frames_per_task: 10,
        frames_inc: 1,
        capacity: 1000,
        working_directory: '/projects/spf',
        command: 'blender -b sh010.blend -s @#@ -e @#@ -a',
        files: '/render/sh010.@####@.exr',
        ...block,
      },
    ],
    ...overrides,
  };
}

interface JobRow {
  id: number;
  serial: number;
  name: string;
  state: string;
  custom_data?: string;
  blocks: Record<string, unknown>[];
}

async function jobs(farm: FakeAfanasy, get: Record<string, unknown> = {}): Promise<JobRow[]> {
  const answer = await send(farm, { get: { type: 'jobs', ...get } });
  return answer['jobs'] as JobRow[];
}

describe('fake afserver', () => {
  let farm: FakeAfanasy;

  beforeEach(async () => {
    farm = await startFakeAfanasy({ startDelayMs: 100, taskMs: 1000 });
  });
  afterEach(async () => {
    await farm.close();
  });

  it('answers the raw framing in the raw framing, then closes', async () => {
    const answer = await send(farm, { job: renderJob() });
    expect(answer).toEqual({ id: 2, serial: 1 });
    expect(farm.state.submissions).toHaveLength(1);
    expect(farm.state.requests[0]).toMatchObject({ framing: 'raw', kind: 'job', answer: 'full' });
  });

  it('answers an HTTP POST with an AFANASY header as HTTP 200 + JSON, sized by that header', async () => {
    const body = Buffer.from(JSON.stringify({ job: renderJob({ name: 'plan été' }) }), 'utf8');
    // No Content-Length: the AFANASY header alone gives the body size (in bytes, not characters).
    const request = Buffer.concat([
      Buffer.from(`POST / HTTP/1.1\r\nHost: afserver\r\nAFANASY: ${String(body.length)}\r\n\r\n`),
      body,
    ]);
    const answer = (await exchange(farm, request)).toString('utf8');
    expect(answer).toMatch(/^HTTP\/1.1 200 OK\r\n/);
    expect(answer).toContain('Content-Type: application/json');
    const json = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as unknown;
    expect(json).toEqual({ id: 2, serial: 1 });
    expect((await jobs(farm))[0]?.name).toBe('plan été');
    expect(farm.state.requests[0]?.framing).toBe('http');
  });

  it('waits for the whole message when it arrives in pieces', async () => {
    const bytes = raw({ get: { type: 'jobs' } });
    const socket = connect(farm.port, farm.host);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    await once(socket, 'connect');
    for (const piece of [
      bytes.subarray(0, 3),
      bytes.subarray(3, 12),
      bytes.subarray(12, 20),
      bytes.subarray(20),
    ]) {
      socket.write(piece);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await once(socket, 'close');
    expect(Buffer.concat(chunks).toString()).toBe('AFANASY 11 JSON{"jobs":[]}');
  });

  it('drops a connection that speaks neither framing; answers 400 to HTTP without AFANASY header', async () => {
    expect((await exchange(farm, 'HELLO there\n')).length).toBe(0);
    const http = (await exchange(farm, 'POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}')).toString();
    expect(http).toMatch(/^HTTP\/1.1 400/);
  });

  it.each([
    ['frame_first as a string', {}, { frame_first: '1' }, 'frame_first'],
    ['frame_last as a string', {}, { frame_last: '1048' }, 'frame_last'],
    ['frames_per_task 0', {}, { frames_per_task: 0 }, 'frames_per_task'],
    ['frames_per_task as a float', {}, { frames_per_task: 2.5 }, 'frames_per_task'],
    ['capacity as a string', {}, { capacity: '1000' }, 'capacity'],
    ['flags as a string', {}, { flags: '1' }, 'flags'],
    ['frame_first after frame_last', {}, { frame_first: 50, frame_last: 10 }, 'frame_first'],
    ['service as a number', {}, { service: 7 }, 'service'],
    ['command missing', {}, { command: undefined }, 'command'],
    ['name as a number', { name: 42 }, {}, 'name'],
    ['priority 251', { priority: 251 }, {}, 'priority'],
    ['priority as a string', { priority: '99' }, {}, 'priority'],
    ['custom_data as an object', { custom_data: { key: 'x' } }, {}, 'custom_data'],
    ['no blocks', { blocks: undefined }, {}, 'block'],
    ['empty blocks', { blocks: [] }, {}, 'block'],
  ])('refuses a job with %s: {"error": ...} and nothing stored', async (_, job, block, word) => {
    const answer = await send(farm, { job: renderJob(job, block) });
    expect(Object.keys(answer)).toEqual(['error']);
    expect(answer['error']).toContain(word);
    expect(farm.state.submissions).toHaveLength(0);
    expect(farm.state.jobs.size).toBe(0);
  });

  it('gives ids from 2, reuses them after deletion, never reuses serials; suffixes duplicate names', async () => {
    const a = await send(farm, { job: renderJob() });
    const b = await send(farm, { job: renderJob() });
    expect([a, b]).toEqual([
      { id: 2, serial: 1 },
      { id: 3, serial: 2 },
    ]);
    const names = (await jobs(farm)).map((job) => job.name);
    expect(names).toEqual(['SPF_SH010 lighting', 'SPF_SH010 lighting-1']);
    const deleted = await send(farm, {
      action: { type: 'jobs', ids: [2], user_name: 'u', host_name: 'h', operation: { type: 'delete' } },
    });
    expect(deleted).toHaveProperty('info');
    const c = await send(farm, { job: renderJob() });
    expect(c).toEqual({ id: 2, serial: 3 });
    expect(await jobs(farm, { serials: [1] })).toEqual([]);
    expect((await jobs(farm, { serials: [3] }))[0]).toMatchObject({ id: 2, serial: 3 });
  });

  it('reports state tokens with a leading space and leaves zero progress fields out', async () => {
    const { id } = (await send(farm, { job: renderJob() })) as { id: number };
    let [job] = await jobs(farm, { ids: [id] });
    expect(job?.state).toBe(' RDY');
    expect(job?.custom_data).toBe(JSON.stringify({ kitsu_actions_submission_key: 'key-1' }));
    expect(job?.blocks[0]).toMatchObject({ tasks_num: 5, frame_first: 1001, frame_last: 1048 });
    expect(job?.blocks[0]).not.toHaveProperty('p_percentage');
    expect(job?.blocks[0]).not.toHaveProperty('p_tasks_done');
    expect(job?.blocks[0]).not.toHaveProperty('p_tasks_error');

    farm.control.advance(100 + 2000);
    [job] = await jobs(farm, { ids: [id] });
    expect(job?.state).toBe(' RDY RUN');
    expect(job?.blocks[0]).toMatchObject({ p_percentage: 40, p_tasks_done: 2 });

    farm.control.advance(60_000);
    [job] = await jobs(farm, { serials: [1] });
    expect(job?.state).toBe(' DON');
    expect(job?.blocks[0]).toMatchObject({ p_percentage: 100, p_tasks_done: 5 });
  });

  it('answers a progress query for one id in the job_progress shape; full mode adds block properties', async () => {
    const { id } = (await send(farm, { job: renderJob() })) as { id: number };
    farm.control.advance(1100);
    const progress = await send(farm, { get: { type: 'jobs', ids: [id], mode: 'progress' } });
    expect(progress).toEqual({
      job_progress: {
        id,
        progress: [
          [
            { state: ' DON', str: 1, per: 100 },
            { state: ' RUN', str: 1 },
            { state: ' RDY' },
            { state: ' RDY' },
            { state: ' RDY' },
          ],
        ],
      },
    });
    const [full] = await jobs(farm, { ids: [id], mode: 'full' });
    expect(full?.blocks[0]).toMatchObject({
      command: 'blender -b sh010.blend -s @#@ -e @#@ -a',
      service: 'blender',
    });
  });

  it('fails a job: the state gains ERR and p_tasks_error counts it', async () => {
    const { id } = (await send(farm, { job: renderJob() })) as { id: number };
    farm.control.advance(1500);
    farm.control.failJob(id);
    const [job] = await jobs(farm, { ids: [id] });
    expect(job?.state).toBe(' RDY RUN ERR');
    expect(job?.blocks[0]).toMatchObject({ p_tasks_done: 1, p_tasks_error: 1 });
    farm.control.advance(60_000);
    expect((await jobs(farm, { ids: [id] }))[0]?.state).toBe(' ERR');
  });

  it('stops, pauses, starts and restarts jobs', async () => {
    const { id } = (await send(farm, { job: renderJob() })) as { id: number };
    const action = (type: string) =>
      send(farm, {
        action: { type: 'jobs', ids: [id], user_name: 'u', host_name: 'h', operation: { type } },
      });
    farm.control.advance(1500);
    await action('stop');
    expect((await jobs(farm, { ids: [id] }))[0]?.state).toBe(' OFF');
    farm.control.advance(60_000);
    expect((await jobs(farm, { ids: [id] }))[0]?.blocks[0]).toMatchObject({ p_tasks_done: 1 });
    await action('start');
    farm.control.advance(100);
    expect((await jobs(farm, { ids: [id] }))[0]?.state).toBe(' RDY RUN');
    await action('pause');
    expect((await jobs(farm, { ids: [id] }))[0]?.state).toBe(' RUN OFF');
    await action('restart');
    farm.control.advance(60_000);
    expect((await jobs(farm, { ids: [id] }))[0]?.state).toBe(' DON');
    const bad = await send(farm, {
      action: { type: 'jobs', ids: [id], user_name: 'u', host_name: 'h', operation: { type: 'explode' } },
    });
    expect(bad).toHaveProperty('error');
  });

  it('answers an injected refusal without handling the message', async () => {
    farm.control.refuseNext(1, 'job name is reserved');
    expect(await send(farm, { job: renderJob() })).toEqual({ error: 'job name is reserved' });
    expect(farm.state.submissions).toHaveLength(0);
    expect(await send(farm, { job: renderJob() })).toEqual({ id: 2, serial: 1 });
  });

  it('refuses unknown messages and JSON it cannot parse', async () => {
    expect(await send(farm, { hello: 1 })).toHaveProperty('error');
    const answer = (await exchange(farm, 'AFANASY 5 JSON{"a":')).toString();
    expect(answer).toMatch(/^AFANASY \d+ JSON\{"error":/);
  });

  it('drops a connection mid-answer, after or before handling the message', async () => {
    farm.control.dropNext(1);
    const cut = await exchange(farm, raw({ job: renderJob() }));
    expect(cut.length).toBeGreaterThan(0);
    expect(cut.toString()).not.toMatch(/\}$/);
    expect(farm.state.submissions).toHaveLength(1);
    farm.control.dropNext(1, { process: false });
    await exchange(farm, raw({ job: renderJob() }));
    expect(farm.state.submissions).toHaveLength(1);
    expect(farm.state.requests.map((r) => r.answer)).toEqual(['dropped', 'dropped']);
    expect(await send(farm, { get: { type: 'jobs' } })).toHaveProperty('jobs');
  });

  it('goes slow, refuses connections and accepts them again on the same port', async () => {
    farm.control.slow(150);
    const started = performance.now();
    await send(farm, { get: { type: 'jobs' } });
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    farm.control.clearFaults();

    await farm.control.refuseConnections();
    const socket = connect(farm.port, farm.host);
    const [error] = (await once(socket, 'error')) as [NodeJS.ErrnoException];
    expect(error.code).toBe('ECONNREFUSED');
    await farm.control.acceptConnections();
    expect(await send(farm, { get: { type: 'jobs' } })).toEqual({ jobs: [] });
  });
});
