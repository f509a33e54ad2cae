import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { freePort, repoRoot, spawnProcess, type FakeZou, type ServiceProcess } from '@kitsu-actions/testing';
import { startZouReceiver, submitAction, type ReceiverHarness } from '../test/harness.ts';

const secret = 'webhook-test-secret-0123456789abcdef';
const otherSecret = 'not-the-secret-the-other-side-has-0000';

interface Delivery {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A local HTTP server that records each delivery and answers with the next scripted answer (else 200). */
async function startSink(): Promise<{
  server: Server;
  url: string;
  deliveries: Delivery[];
  answers: Array<{ status: number; body?: string; location?: string }>;
}> {
  const deliveries: Delivery[] = [];
  const answers: Array<{ status: number; body?: string; location?: string }> = [];
  const server = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      deliveries.push({ path: request.url ?? '', headers: request.headers, body });
      const answer = answers.shift() ?? { status: 200, body: '{"ok":true}' };
      response.writeHead(answer.status, answer.location === undefined ? {} : { Location: answer.location });
      response.end(answer.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}`, deliveries, answers };
}

const sign = (timestamp: string, body: string): string =>
  `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;

describe('webhook: Kitsu → receiver → worker process → a signed delivery', () => {
  let zou: FakeZou;
  let harness: ReceiverHarness;
  let sink: Awaited<ReturnType<typeof startSink>>;
  let elsewhere: Awaited<ReturnType<typeof startSink>>;
  let python: ServiceProcess;
  let pythonPort: number;
  let session: Record<string, string>;

  beforeAll(async () => {
    sink = await startSink();
    elsewhere = await startSink();
    pythonPort = await freePort();
    python = spawnProcess(
      'python3',
      [path.join(repoRoot, 'examples/kabaret_webhook.py'), '--port', String(pythonPort)],
      {
        cwd: repoRoot,
        env: { PATH: process.env['PATH'] ?? '', KITSU_ACTIONS_WEBHOOK_SECRET: secret },
      },
    );
    await python.waitFor(/"listening"/);
    const catalogueYaml = `
actions:
  - { id: to-sink, name: Send to the asset manager, kind: webhook, options: { url: "${sink.url}/kitsu", secretEnv: WEBHOOK_SECRET } }
  - { id: to-kabaret, name: Open in Kabaret, kind: webhook, options: { url: "http://127.0.0.1:${pythonPort}/", secretEnv: WEBHOOK_SECRET } }
  - { id: to-kabaret-unsigned, name: Open in Kabaret (wrong secret), kind: webhook, options: { url: "http://127.0.0.1:${pythonPort}/", secretEnv: OTHER_SECRET } }
`;
    ({ zou, harness } = await startZouReceiver({
      redisUrl: inject('redisUrl'),
      catalogueYaml,
      env: { WEBHOOK_SECRET: secret, OTHER_SECRET: otherSecret },
    }));
    session = { Cookie: `access_token_cookie=${zou.control.issueToken(zou.seed.ids.persons.manager)}` };
    await harness.startWorker().waitFor(/workers ready/);
  });
  afterAll(async () => {
    await harness.close();
    await python.stop();
    sink.server.close();
    elsewhere.server.close();
  });
  beforeEach(() => {
    sink.deliveries.length = 0;
    sink.answers.length = 0;
  });

  async function run(action: string): Promise<{ jobId: string; view: Record<string, unknown> }> {
    const { ids } = zou.seed;
    const jobId = await submitAction(harness, action, {
      headers: session,
      fields: {
        personid: ids.persons.manager,
        projectid: ids.projects.spf,
        selection: `${ids.tasks.lightingSh010},${ids.tasks.layoutSh010}`,
        entitytype: 'shot',
      },
    });
    return { jobId, view: await harness.waitForJob(jobId, { timeoutMs: 30_000, headers: session }) };
  }

  it('a 500 then a 200: one delivery id on both attempts, each signed, the job completed', async () => {
    sink.answers.push({ status: 500, body: 'busy' });
    const { jobId, view } = await run('to-sink');
    expect(view['state']).toBe('completed');
    expect(view['attempts']).toBe(2);
    expect(view['result']).toMatchObject({
      type: 'webhook',
      summary: `Delivered to ${sink.url} (HTTP 200)`,
      deliveryId: jobId,
      status: 200,
    });
    expect(sink.deliveries).toHaveLength(2);
    for (const delivery of sink.deliveries) {
      expect(delivery.path).toBe('/kitsu');
      expect(delivery.headers['content-type']).toBe('application/json');
      expect(delivery.headers['x-kitsu-actions-delivery']).toBe(jobId);
      const timestamp = String(delivery.headers['x-kitsu-actions-timestamp']);
      expect(Math.abs(Date.now() / 1000 - Number(timestamp))).toBeLessThan(120);
      expect(delivery.headers['x-kitsu-actions-signature']).toBe(sign(timestamp, delivery.body));
    }
    const body = JSON.parse(sink.deliveries[1]?.body ?? '{}') as {
      deliveryId: string;
      action: { id: string };
      request: { personId: string; taskIds: string[] };
      tasks: Array<{ taskId: string; label: string; values: Record<string, unknown> }>;
    };
    const { ids } = zou.seed;
    expect(body.deliveryId).toBe(jobId);
    expect(body.action.id).toBe('to-sink');
    expect(body.request.personId).toBe(ids.persons.manager);
    expect(body.tasks.map((task) => [task.taskId, task.label, task.values['taskType.name']])).toEqual([
      [ids.tasks.lightingSh010, 'E01 / SQ010 / SH010', 'Lighting'],
      [ids.tasks.layoutSh010, 'E01 / SQ010 / SH010', 'Layout'],
    ]);
  });

  it('a 400 is final: one delivery, and the job says what the other side answered', async () => {
    sink.answers.push({ status: 400, body: 'unknown shot SH010' });
    const { view } = await run('to-sink');
    expect(view['state']).toBe('failed');
    expect(view['attempts']).toBe(1);
    expect((view['error'] as { message: string }).message).toBe(
      `${sink.url} refused the delivery: HTTP 400 unknown shot SH010`,
    );
    expect(sink.deliveries).toHaveLength(1);
  });

  it('a redirect to another host is not followed; a 307 to the same host is, with the same delivery', async () => {
    sink.answers.push({ status: 302, location: `${elsewhere.url}/steal` });
    const refused = await run('to-sink');
    expect(refused.view['state']).toBe('failed');
    expect((refused.view['error'] as { message: string }).message).toBe(
      `${sink.url} answered HTTP 302, a redirect to ${elsewhere.url}/steal, which is not followed (only 307 and 308 to the same host are, 3 at most).`,
    );
    expect(elsewhere.deliveries).toHaveLength(0);

    sink.deliveries.length = 0;
    sink.answers.push({ status: 307, location: '/kitsu/v2' });
    const moved = await run('to-sink');
    expect(moved.view['state']).toBe('completed');
    expect(sink.deliveries.map((delivery) => delivery.path)).toEqual(['/kitsu', '/kitsu/v2']);
    expect(sink.deliveries[1]?.body).toBe(sink.deliveries[0]?.body);
  });

  it('the README’s Python receiver verifies a real delivery, and refuses one signed with another secret', async () => {
    const { jobId, view } = await run('to-kabaret');
    expect(view['state']).toBe('completed');
    await python.waitFor(
      new RegExp(
        `"verified": "${jobId}", "action": "to-kabaret", "shots": \\["E01 / SQ010 / SH010", "E01 / SQ010 / SH010"\\]`,
      ),
    );
    const unsigned = await run('to-kabaret-unsigned');
    expect(unsigned.view['state']).toBe('failed');
    expect((unsigned.view['error'] as { message: string }).message).toBe(
      `http://127.0.0.1:${pythonPort} refused the delivery: HTTP 401 {"error": "bad signature"}`,
    );
    await python.waitFor(new RegExp(`"refused": "${unsigned.jobId}"`));
  });
});
