import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { JobData, PageResult } from '@kitsu-actions/shared';
import { startReceiver, type ReceiverHarness } from '../test/harness.ts';

const person = 'b01bae1e-f829-458a-a1eb-131bb66628cc';
const task = '95c171e1-dfff-498f-93e3-548a739e3202';

/** Kitsu's AJAX fields plus `notes` of markup and quotes (the worst case for escaping), about 1 MiB in all. */
function megabyteRequest(): string {
  const fields = { userid: person, entitytype: 'shot', selection: [task], notes: '' };
  const unit = '<a href="x">&</a> ';
  let notes = unit.repeat(Math.ceil((1024 * 1024) / (unit.length + 2)));
  while (JSON.stringify({ ...fields, notes }).length > 1024 * 1024 - 8) notes = notes.slice(0, -64);
  return JSON.stringify({ ...fields, notes });
}

/** What Redis holds for the job: its hash (data and, once done, the result) counted in full. */
async function stored(harness: ReceiverHarness, jobId: string) {
  const key = `${harness.prefix}:pages:${jobId}`;
  return {
    data: await harness.connection.hstrlen(key, 'data'),
    result: await harness.connection.hstrlen(key, 'returnvalue'),
    memory: Number(await harness.connection.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')),
  };
}

describe('bounded storage', () => {
  let harness: ReceiverHarness;
  beforeAll(async () => {
    // The defaults: BODY_LIMIT 1mb, RAW_REQUEST_LIMIT 64kb, JOB_DATA_LIMIT 512kb, RESULT_PAGE_LIMIT 2mb.
    harness = await startReceiver({ redisUrl: inject('redisUrl'), env: { DEDUP_WINDOW_MS: '0' } });
    await harness.startWorker().waitFor(/workers ready/);
  });
  afterAll(() => harness.close());

  it('a 1 MiB request is kept as at most 64 KiB of request copy, and the page says what was cut', async () => {
    const body = megabyteRequest();
    expect(Buffer.byteLength(body)).toBeGreaterThan(1024 * 1024 - 128);
    const response = await fetch(`${harness.baseUrl}/actions/debug`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body,
    });
    expect(response.status).toBe(202);
    const { jobId } = (await response.json()) as { jobId: string };
    const found = await harness.queues.find(jobId);
    const data = JobData.parse(found?.job.data);
    // The normalized request is whole; only the copy of the request as received is cut.
    expect(data.request.taskIds).toEqual([task]);
    expect(data.raw?.fields['userid']).toBe(person);
    expect(data.raw?.cut).toEqual([
      expect.stringMatching(
        /^fields shortened to 4096 bytes each: notes \(first 4096 of \d+ characters kept\)$/,
      ),
      expect.stringMatching(/^body: first [\d.]+ KiB of 102[34]\.\d KiB kept \(RAW_REQUEST_LIMIT=64 KiB\)$/),
    ]);

    expect((await harness.waitForJob(jobId))['state']).toBe('completed');
    const sizes = await stored(harness, jobId);
    expect(sizes.data).toBeLessThanOrEqual(64 * 1024);
    expect(sizes.result).toBeLessThan(256 * 1024);
    // Before: 2.3 MB of job data and a 4.8 MB page for this request (MEMORY USAGE 7.9 MB).
    expect(sizes.memory).toBeLessThan(512 * 1024);

    const page = await fetch(`${harness.baseUrl}/jobs/${jobId}/result`);
    const html = await page.text();
    expect(html).toContain('<h3 class="error">Cut before it was stored</h3>');
    expect(html).toContain('(RAW_REQUEST_LIMIT=64 KiB)');
    expect(html).toContain(person);
  });

  it('refuses with 413 a request whose job data cannot be stored, and queues nothing', async () => {
    const large = await startReceiver({
      redisUrl: inject('redisUrl'),
      env: { MAX_SELECTION: '20000', JOB_DATA_LIMIT: '128kb' },
    });
    try {
      const selection = Array.from({ length: 5000 }, () => randomUUID());
      const response = await fetch(`${large.baseUrl}/actions/debug`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ userid: person, entitytype: 'shot', selection }),
      });
      expect(response.status).toBe(413);
      const { error } = (await response.json()) as { error: { code: string; message: string } };
      expect(error.code).toBe('too_large_to_store');
      expect(error.message).toMatch(
        /^This request would be stored as [\d.]+ KiB of job data, more than the 128 KiB allowed \(JOB_DATA_LIMIT\); nothing was queued\. Select fewer tasks\.$/,
      );
      expect(await large.jobCount()).toBe(0);
    } finally {
      await large.close();
    }
  });

  it('a result page stays within RESULT_PAGE_LIMIT: a page built for a small limit is cut and says so', async () => {
    const small = await startReceiver({
      redisUrl: inject('redisUrl'),
      env: { RESULT_PAGE_LIMIT: '64kb', DEDUP_WINDOW_MS: '0' },
    });
    try {
      await small.startWorker().waitFor(/workers ready/);
      // 3,000 task ids: the "Normalized request" section alone is larger than 64 KiB.
      const selection = Array.from({ length: 3000 }, () => randomUUID());
      const response = await fetch(`${small.baseUrl}/actions/debug`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ userid: person, entitytype: 'shot', selection }),
      });
      const { jobId } = (await response.json()) as { jobId: string };
      expect((await small.waitForJob(jobId))['state']).toBe('completed');
      const found = await small.queues.find(jobId);
      const result = PageResult.parse(found?.job.returnvalue);
      expect(Buffer.byteLength(result.html)).toBeLessThanOrEqual(64 * 1024);
      expect(result.html).toContain('This page was cut to fit RESULT_PAGE_LIMIT (64 KiB)');
      expect(result.html).toMatch(/\d+ of \d+ sections \([\d.]+ KiB\) are not shown:\s+Normalized request/);
    } finally {
      await small.close();
    }
  });
});
