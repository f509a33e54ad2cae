import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig, sortableTablesSource } from '@kitsu-actions/shared';
import { createHttpServer } from './http-server.ts';
import { startReceiver, type ReceiverHarness } from '../test/harness.ts';

const person = 'b01bae1e-f829-458a-a1eb-131bb66628cc';
const task = '95c171e1-dfff-498f-93e3-548a739e3202';

/** A raw connection that records what the server sends and when it closes the connection. */
function rawClient(port: number): { socket: Socket; received: () => string; closed: Promise<number> } {
  const socket = connect(port, '127.0.0.1');
  const started = performance.now();
  let text = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (text += chunk));
  socket.on('error', () => undefined);
  const closed = new Promise<number>((resolve) =>
    socket.once('close', () => resolve(performance.now() - started)),
  );
  return { socket, received: () => text, closed };
}

/** Writes `text` one character every `everyMs` until the connection closes (a slow client). */
function drip(socket: Socket, text: string, everyMs: number): void {
  let at = 0;
  const timer = setInterval(() => {
    if (socket.destroyed || at >= text.length) {
      clearInterval(timer);
      return;
    }
    socket.write(text[at] ?? '');
    at += 1;
  }, everyMs);
  socket.once('close', () => clearInterval(timer));
}

describe('security headers', () => {
  let harness: ReceiverHarness;
  let framed: ReceiverHarness;
  let jobId: string;
  beforeAll(async () => {
    harness = await startReceiver({ redisUrl: inject('redisUrl') });
    framed = await startReceiver({
      redisUrl: inject('redisUrl'),
      env: { FRAME_ANCESTORS: "self, 'self', https://kitsu.studio.example" },
    });
    const response = await fetch(`${harness.baseUrl}/actions/debug`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ userid: person, selection: [task] }),
    });
    jobId = ((await response.json()) as { jobId: string }).jobId;
  });
  afterAll(async () => {
    await framed.close();
    await harness.close();
  });

  it('every answer: nosniff and no Referer to other sites, JSON and errors included', async () => {
    const answers = await Promise.all([
      fetch(`${harness.baseUrl}/healthz`),
      fetch(`${harness.baseUrl}/jobs/${jobId}`, { headers: { Accept: 'application/json' } }),
      fetch(`${harness.baseUrl}/nowhere`),
      fetch(`${harness.baseUrl}/actions/debug`, {
        method: 'POST',
        body: '{',
        headers: { 'Content-Type': 'application/json' },
      }),
      fetch(`${harness.baseUrl}/actions/debug`, {
        method: 'OPTIONS',
        headers: { Origin: 'https://kitsu.studio.example', 'Access-Control-Request-Method': 'POST' },
      }),
    ]);
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 404, 400, 204]);
    for (const answer of answers) {
      expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
      expect(answer.headers.get('referrer-policy')).toBe('no-referrer');
    }
  });

  it('every HTML answer: a strict policy that no site may frame (FRAME_ANCESTORS unset)', async () => {
    const html = { headers: { Accept: 'text/html' } };
    const pages = await Promise.all([
      fetch(`${harness.baseUrl}/jobs/${jobId}`, html),
      fetch(`${harness.baseUrl}/jobs/pages-00000000-0000-4000-8000-000000000000`, html),
      fetch(`${harness.baseUrl}/actions/debug`, {
        ...html,
        method: 'POST',
        body: 'selection=',
        headers: { ...html.headers, 'Content-Type': 'application/x-www-form-urlencoded' },
      }),
    ]);
    expect(pages.map((page) => page.status)).toEqual([200, 404, 400]);
    for (const page of pages) {
      expect(page.headers.get('content-type')).toContain('text/html');
      expect(page.headers.get('content-security-policy')).toBe(
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
      );
      expect(page.headers.get('x-frame-options')).toBe('DENY');
    }
  });

  it('FRAME_ANCESTORS names who may frame the pages; a result page keeps its own policy, plus frame-ancestors', async () => {
    const page = await fetch(`${framed.baseUrl}/jobs/pages-00000000-0000-4000-8000-000000000000`, {
      headers: { Accept: 'text/html' },
    });
    expect(page.headers.get('content-security-policy')).toMatch(
      /; frame-ancestors 'self' https:\/\/kitsu\.studio\.example$/,
    );
    expect(page.headers.has('x-frame-options')).toBe(false);
    const worker = harness.startWorker();
    await worker.waitFor(/workers ready/);
    await harness.waitForJob(jobId);
    const result = await fetch(`${harness.baseUrl}/jobs/${jobId}/result`);
    expect(result.status).toBe(200);
    expect(result.headers.get('content-security-policy')).toBe(
      `default-src 'none'; script-src ${sortableTablesSource}; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
    );
  });

  it('FRAME_ANCESTORS accepts none, self and origins only', () => {
    expect(loadConfig({}).http.frameAncestors).toEqual(["'none'"]);
    expect(loadConfig({ FRAME_ANCESTORS: 'SELF' }).http.frameAncestors).toEqual(["'self'"]);
    expect(() => loadConfig({ FRAME_ANCESTORS: 'none, self' })).toThrow(
      /FRAME_ANCESTORS: none cannot be combined/,
    );
    expect(() => loadConfig({ FRAME_ANCESTORS: 'https://kitsu.example/path' })).toThrow(/FRAME_ANCESTORS/);
    expect(() => loadConfig({ FRAME_ANCESTORS: '*' })).toThrow(/FRAME_ANCESTORS.*scheme:\/\/host\[:port\]/);
  });
});

describe('server timeouts and connection cap (a real server, raw sockets)', () => {
  let harness: ReceiverHarness;
  let port: number;
  beforeAll(async () => {
    harness = await startReceiver({
      redisUrl: inject('redisUrl'),
      env: { HTTP_HEADERS_TIMEOUT_MS: '400', HTTP_REQUEST_TIMEOUT_MS: '1000' },
    });
    port = Number(new URL(harness.baseUrl).port);
  });
  afterAll(() => harness.close());

  it('the defaults bound a request to 30 s, its headers to 10 s, and 1024 connections', () => {
    expect(loadConfig({}).http).toMatchObject({
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      maxConnections: 1024,
    });
    expect(() => loadConfig({ HTTP_HEADERS_TIMEOUT_MS: '5000', HTTP_REQUEST_TIMEOUT_MS: '1000' })).toThrow(
      /HTTP_HEADERS_TIMEOUT_MS: must not be above HTTP_REQUEST_TIMEOUT_MS/,
    );
  });

  it('headers sent a byte at a time: 408 and closed after HTTP_HEADERS_TIMEOUT_MS', async () => {
    const client = rawClient(port);
    await once(client.socket, 'connect');
    client.socket.write('POST /actions/debug HTTP/1.1\r\nHost: receiver\r\n');
    drip(client.socket, 'X-Slow: '.padEnd(200, 'x'), 50);
    const heldMs = await client.closed;
    expect(client.received()).toMatch(/^HTTP\/1\.1 408 /);
    expect(heldMs).toBeGreaterThanOrEqual(350);
    expect(heldMs).toBeLessThan(2000);
  });

  it('a body sent a byte at a time: 408 and closed after HTTP_REQUEST_TIMEOUT_MS, nothing queued', async () => {
    const before = await harness.jobCount();
    const body = JSON.stringify({ userid: person, selection: [task] });
    const client = rawClient(port);
    await once(client.socket, 'connect');
    client.socket.write(
      `POST /actions/debug HTTP/1.1\r\nHost: receiver\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
    );
    drip(client.socket, body, 50);
    const heldMs = await client.closed;
    expect(client.received()).toMatch(/^HTTP\/1\.1 408 /);
    expect(heldMs).toBeGreaterThanOrEqual(900);
    expect(heldMs).toBeLessThan(3000);
    expect(await harness.jobCount()).toBe(before);
  });

  it('past HTTP_MAX_CONNECTIONS, a new connection is dropped; one closing makes room again', async () => {
    const http = { ...loadConfig({ HTTP_MAX_CONNECTIONS: '2' }).http };
    const server = createHttpServer(http);
    server.on('request', (_request, response) => response.end('ok'));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port: capped } = server.address() as AddressInfo;
    try {
      const held = [rawClient(capped), rawClient(capped)];
      let accepted = 0;
      const bothAccepted = new Promise<void>((resolve) =>
        server.on('connection', () => {
          accepted += 1;
          if (accepted === 2) resolve();
        }),
      );
      await bothAccepted;
      const dropped = once(server, 'drop');
      const third = rawClient(capped);
      await dropped;
      await third.closed;
      expect(third.received()).toBe('');
      held[0]?.socket.destroy();
      await held[0]?.closed;
      // The server counts the closed connection out before it accepts the next one.
      const fourth = rawClient(capped);
      await once(fourth.socket, 'connect');
      fourth.socket.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      await fourth.closed;
      expect(fourth.received()).toMatch(/^HTTP\/1\.1 200 OK/);
      held[1]?.socket.destroy();
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
