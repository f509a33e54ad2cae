import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startFakeFlamenco } from './index.ts';
import type { FakeFlamenco } from './index.ts';

interface Reply {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

async function call(farm: FakeFlamenco, path: string, init: { method?: string; body?: unknown } = {}) {
  const res = await fetch(`${farm.url}${path}`, {
    method: init.method ?? 'GET',
    ...(init.body === undefined
      ? {}
      : { body: JSON.stringify(init.body), headers: { 'content-type': 'application/json' } }),
  });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    body: (text === '' ? {} : JSON.parse(text)) as Record<string, unknown>,
  } satisfies Reply;
}

function validJob(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'SPF_SH010 lighting',
    type: 'simple-blender-render',
    priority: 50,
    submitter_platform: 'linux',
    settings: {
      blendfile: '/projects/spf/sh010/lighting.blend',
      frames: '1001-1048',
      chunk_size: 10,
      render_output_root: '/render',
      add_path_components: 0,
      render_output_path: '/render/spf/sh010/######',
      fps: 25,
      format: 'PNG',
      image_file_extension: '.png',
      has_previews: false,
    },
    metadata: { kitsu_actions_submission_key: 'key-1', kitsu_task: 'task-1' },
    ...overrides,
  };
}

describe('fake Flamenco Manager', () => {
  let farm: FakeFlamenco;

  beforeEach(async () => {
    farm = await startFakeFlamenco({ startDelayMs: 100, taskMs: 1000, transitionMs: 50 });
  });
  afterEach(async () => {
    await farm.close();
  });

  it('answers its version', async () => {
    const reply = await call(farm, '/api/v3/version');
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ version: '3.8.2', shortversion: '3.8.2' });
    expect(typeof reply.body['name']).toBe('string');
  });

  it('accepts a valid job with 200 and the Job, and records the submission', async () => {
    const reply = await call(farm, '/api/v3/jobs', { method: 'POST', body: validJob() });
    expect(reply.status).toBe(200);
    expect(reply.body['id']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(reply.body).toMatchObject({
      name: 'SPF_SH010 lighting',
      type: 'simple-blender-render',
      priority: 50,
      status: 'queued',
      activity: '',
      steps_completed: 0,
      steps_total: 5,
      metadata: { kitsu_actions_submission_key: 'key-1', kitsu_task: 'task-1' },
    });
    expect(typeof reply.body['created']).toBe('string');
    expect(typeof reply.body['updated']).toBe('string');
    expect(farm.state.submissions).toHaveLength(1);
    expect(farm.state.submissions[0]?.jobId).toBe(reply.body['id']);

    const list = await call(farm, '/api/v3/jobs');
    expect(list.status).toBe(200);
    expect(list.body['jobs']).toEqual([reply.body]);
    const one = await call(farm, `/api/v3/jobs/${String(reply.body['id'])}`);
    expect(one.body).toEqual(reply.body);
  });

  it.each([
    ['metadata with a number', { metadata: { kitsu_task: 12 } }, '/metadata/kitsu_task'],
    ['metadata with a boolean', { metadata: { urgent: true } }, '/metadata/urgent'],
    ['priority as a string', { priority: '50' }, '/priority'],
    ['priority not an integer', { priority: 50.5 }, '/priority'],
    ['no name', { name: undefined }, '/name'],
    ['no submitter_platform', { submitter_platform: undefined }, '/submitter_platform'],
    ['an unknown platform', { submitter_platform: 'amiga' }, '/submitter_platform'],
    ['settings not an object', { settings: ['a'] }, '/settings'],
    ['a worker tag that is not a UUID', { worker_tag: 'gpu' }, '/worker_tag'],
  ])('refuses %s with 400 { message } (schema error)', async (_, overrides, pointer) => {
    const reply = await call(farm, '/api/v3/jobs', { method: 'POST', body: validJob(overrides) });
    expect(reply.status).toBe(400);
    expect(Object.keys(reply.body)).toEqual(['message']);
    expect(reply.body['message']).toContain(`"${pointer}"`);
    expect(farm.state.submissions).toHaveLength(0);
  });

  it.each([
    ['no render_output_path', { render_output_path: undefined }, 'no render_output_path setting!'],
    ['an empty render_output_path', { render_output_path: '' }, 'no render_output_path setting!'],
    ['no blendfile', { blendfile: undefined }, 'no blendfile setting!'],
    ['frames as a number', { frames: 100 }, 'frames'],
    ['unreadable frames', { frames: '10-1' }, 'invalid frame range'],
    ['chunk_size as a string', { chunk_size: '10' }, 'chunk_size'],
    ['fps as a string', { fps: '25' }, 'fps'],
  ])('refuses a render job with %s: 400 { code, message } from the job compiler', async (_, change, text) => {
    const job = validJob();
    const settings = { ...(job['settings'] as Record<string, unknown>), ...change };
    const reply = await call(farm, '/api/v3/jobs', { method: 'POST', body: { ...job, settings } });
    expect(reply.status).toBe(400);
    expect(reply.body['code']).toBe(400);
    expect(reply.body['message']).toContain(text);
    expect(farm.state.submissions).toHaveLength(0);
  });

  it('refuses an unknown job type (400) and a stale type etag (412)', async () => {
    const unknown = await call(farm, '/api/v3/jobs', {
      method: 'POST',
      body: validJob({ type: 'nuke-render' }),
    });
    expect(unknown).toMatchObject({ status: 400, body: { code: 400, message: 'job type unknown' } });
    const stale = await call(farm, '/api/v3/jobs', { method: 'POST', body: validJob({ type_etag: 'old' }) });
    expect(stale.status).toBe(412);
    expect(stale.body['message']).toContain('outdated');
    const type = await call(farm, '/api/v3/jobs/type/simple-blender-render');
    const fresh = await call(farm, '/api/v3/jobs', {
      method: 'POST',
      body: validJob({ type_etag: type.body['etag'] }),
    });
    expect(fresh.status).toBe(200);
  });

  it('checks a job without storing it: 204 valid, 400 invalid', async () => {
    const ok = await call(farm, '/api/v3/jobs/check', { method: 'POST', body: validJob() });
    expect(ok.status).toBe(204);
    const bad = await call(farm, '/api/v3/jobs/check', {
      method: 'POST',
      body: validJob({ metadata: { frame: 1 } }),
    });
    expect(bad.status).toBe(400);
    expect(farm.state.submissions).toHaveLength(0);
    expect(farm.state.jobs.size).toBe(0);
  });

  it('answers 405 to the removed POST /api/v3/jobs/query, 400 to a body that is not JSON', async () => {
    const query = await call(farm, '/api/v3/jobs/query', { method: 'POST', body: { metadata: {} } });
    expect(query).toMatchObject({ status: 405, body: { message: 'Method Not Allowed' } });
    const res = await fetch(`${farm.url}/api/v3/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"name": ',
    });
    expect(res.status).toBe(400);
  });

  it('answers 404 { code, message } for an unknown job and 400 for an id that is not a UUID', async () => {
    const unknown = await call(farm, '/api/v3/jobs/7d5ad7b4-52a4-4b57-9f6e-0b1c2d3e4f50');
    expect(unknown).toMatchObject({ status: 404, body: { code: 404, message: 'no such job' } });
    const bad = await call(farm, '/api/v3/jobs/not-a-uuid');
    expect(bad).toMatchObject({ status: 400, body: { code: 400 } });
  });

  it('moves a job queued → active → completed over simulated time, counting steps', async () => {
    const { body } = await call(farm, '/api/v3/jobs', { method: 'POST', body: validJob() });
    const id = String(body['id']);
    const get = async () => (await call(farm, `/api/v3/jobs/${id}`)).body;
    farm.control.advance(99);
    expect(await get()).toMatchObject({ status: 'queued', steps_completed: 0 });
    farm.control.advance(1);
    expect(await get()).toMatchObject({ status: 'active', steps_completed: 0, steps_total: 5 });
    farm.control.advance(2500);
    expect(await get()).toMatchObject({ status: 'active', steps_completed: 2 });
    const tasks = await call(farm, `/api/v3/jobs/${id}/tasks`);
    expect((tasks.body['tasks'] as { status: string }[]).map((t) => t.status)).toEqual([
      'completed',
      'completed',
      'active',
      'queued',
      'queued',
    ]);
    farm.control.advance(10_000);
    expect(await get()).toMatchObject({ status: 'completed', steps_completed: 5, steps_total: 5 });
  });

  it('moves time by itself with tickMs', async () => {
    const ticking = await startFakeFlamenco({ tickMs: 5, startDelayMs: 5, taskMs: 5 });
    try {
      const { body } = await call(ticking, '/api/v3/jobs', { method: 'POST', body: validJob() });
      await vi.waitFor(
        async () => {
          expect((await call(ticking, `/api/v3/jobs/${String(body['id'])}`)).body['status']).toBe(
            'completed',
          );
        },
        { timeout: 5000, interval: 20 },
      );
    } finally {
      await ticking.close();
    }
  });

  it('cancels: cancel-requested answers 204, the job becomes canceled after a moment', async () => {
    const { body } = await call(farm, '/api/v3/jobs', { method: 'POST', body: validJob() });
    const id = String(body['id']);
    farm.control.advance(1500);
    const change = await call(farm, `/api/v3/jobs/${id}/setstatus`, {
      method: 'POST',
      body: { status: 'cancel-requested', reason: 'cancelled from Kitsu' },
    });
    expect(change.status).toBe(204);
    expect((await call(farm, `/api/v3/jobs/${id}`)).body).toMatchObject({
      status: 'cancel-requested',
      activity: 'Changed to status "cancel-requested": cancelled from Kitsu',
    });
    farm.control.advance(50);
    expect((await call(farm, `/api/v3/jobs/${id}`)).body['status']).toBe('canceled');
    farm.control.advance(60_000);
    expect((await call(farm, `/api/v3/jobs/${id}`)).body['status']).toBe('canceled');
  });

  it('refuses invalid status changes: unknown status or no reason 400, impossible transition 422', async () => {
    const { body } = await call(farm, '/api/v3/jobs', { method: 'POST', body: validJob() });
    const id = String(body['id']);
    const setstatus = (payload: unknown) =>
      call(farm, `/api/v3/jobs/${id}/setstatus`, { method: 'POST', body: payload });
    expect((await setstatus({ status: 'cancelled', reason: 'x' })).status).toBe(400);
    expect((await setstatus({ status: 'cancel-requested' })).status).toBe(400);
    expect((await setstatus({ status: 'completed', reason: 'x' })).status).toBe(422);
    farm.control.advance(60_000);
    const late = await setstatus({ status: 'cancel-requested', reason: 'too late' });
    expect(late).toMatchObject({ status: 422, body: { code: 422 } });
    const unknown = await call(farm, '/api/v3/jobs/7d5ad7b4-52a4-4b57-9f6e-0b1c2d3e4f50/setstatus', {
      method: 'POST',
      body: { status: 'cancel-requested', reason: 'x' },
    });
    expect(unknown.status).toBe(404);
  });

  it('pauses, resumes and requeues', async () => {
    const { body } = await call(farm, '/api/v3/jobs', { method: 'POST', body: validJob() });
    const id = String(body['id']);
    const setstatus = (status: string) =>
      call(farm, `/api/v3/jobs/${id}/setstatus`, { method: 'POST', body: { status, reason: 'test' } });
    farm.control.advance(1100);
    expect((await setstatus('pause-requested')).status).toBe(204);
    farm.control.advance(50);
    expect((await call(farm, `/api/v3/jobs/${id}`)).body).toMatchObject({
      status: 'paused',
      steps_completed: 1,
    });
    expect((await setstatus('queued')).status).toBe(204);
    farm.control.advance(60_000);
    expect((await call(farm, `/api/v3/jobs/${id}`)).body).toMatchObject({
      status: 'completed',
      steps_completed: 5,
    });
    expect((await setstatus('requeueing')).status).toBe(204);
    farm.control.advance(50);
    expect((await call(farm, `/api/v3/jobs/${id}`)).body).toMatchObject({
      status: 'queued',
      steps_completed: 0,
    });
  });

  it('fails a job on request, with the reason as activity', async () => {
    const { body } = await call(farm, '/api/v3/jobs', { method: 'POST', body: validJob() });
    const id = String(body['id']);
    farm.control.advance(1500);
    farm.control.failJob(id, 'Blender crashed: out of memory on worker render-07');
    expect((await call(farm, `/api/v3/jobs/${id}`)).body).toMatchObject({
      status: 'failed',
      activity: 'Blender crashed: out of memory on worker render-07',
      steps_completed: 1,
    });
    farm.control.advance(60_000);
    expect((await call(farm, `/api/v3/jobs/${id}`)).body['status']).toBe('failed');
  });

  it('omits steps before 3.8', async () => {
    const old = await startFakeFlamenco({ version: '3.5.1' });
    try {
      const reply = await call(old, '/api/v3/jobs', { method: 'POST', body: validJob() });
      expect(reply.status).toBe(200);
      expect(reply.body).not.toHaveProperty('steps_total');
    } finally {
      await old.close();
    }
  });

  it('injects failures: failNext, busy with Retry-After, slow', async () => {
    farm.control.failNext(2, 500, { path: '/api/v3/version' });
    expect((await call(farm, '/api/v3/version')).status).toBe(500);
    expect((await call(farm, '/api/v3/version')).status).toBe(500);
    expect((await call(farm, '/api/v3/version')).status).toBe(200);

    farm.control.busy(1, 3);
    const busy = await call(farm, '/api/v3/jobs', { method: 'POST', body: validJob() });
    expect(busy.status).toBe(503);
    expect(busy.headers.get('retry-after')).toBe('3');
    expect(busy.body).toMatchObject({ code: 503 });
    expect(farm.state.submissions).toHaveLength(0);
    expect(farm.control.requests({ method: 'POST', path: '/api/v3/jobs' })).toMatchObject([
      { status: 503, injected: true },
    ]);

    farm.control.slow(150);
    const started = performance.now();
    await call(farm, '/api/v3/version');
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('slowAnswers: stores the job at once but holds the answer, for the matching bodies only', async () => {
    farm.control.slowAnswers(60_000, {
      method: 'POST',
      path: '/api/v3/jobs',
      body: (body) => JSON.stringify(body).includes('SH020'),
    });
    const held = call(farm, '/api/v3/jobs', {
      method: 'POST',
      body: validJob({ name: 'SPF_SH020 lighting' }),
    });
    // The submission is recorded while its answer is still held.
    await vi.waitFor(() => expect(farm.state.submissions).toHaveLength(1), { timeout: 5000 });
    const other = await call(farm, '/api/v3/jobs', { method: 'POST', body: validJob() });
    expect(other.status).toBe(200);
    expect(farm.state.submissions).toHaveLength(2);
    // A client that gives up never hears; close() drops the held answer.
    await farm.close();
    await expect(held).rejects.toThrow();
  });

  it('refuses connections, then accepts them again on the same port', async () => {
    await farm.control.refuseConnections();
    await expect(fetch(`${farm.url}/api/v3/version`)).rejects.toThrow();
    await farm.control.acceptConnections();
    expect((await call(farm, '/api/v3/version')).status).toBe(200);
  });
});
