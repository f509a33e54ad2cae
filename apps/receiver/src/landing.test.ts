import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startReceiver, type ReceiverHarness } from '../test/harness.ts';

const script = '<script>alert(1)</script>';

/** A catalogue whose texts try to break out of the markup. */
const catalogueYaml = `
actions:
  - id: debug
    name: Debug selection
    kind: debug
  - id: sneaky
    name: 'Render <b>"now"</b> & then'
    description: '${script}'
    kind: debug
    entityType: shot
    ajax: true
`;

describe('the landing page and the catalogue page', () => {
  let harness: ReceiverHarness;
  beforeAll(async () => {
    harness = await startReceiver({ redisUrl: inject('redisUrl'), catalogueYaml });
  });
  afterAll(() => harness.close());

  const browser = { Accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };

  it('/ in a browser says what this is and links to the actions, the jobs and the health checks', async () => {
    const response = await fetch(`${harness.baseUrl}/`, { headers: browser });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(response.headers.get('content-security-policy')).toMatch(/^default-src 'none'; /);
    expect(response.headers.get('content-security-policy')).toMatch(/frame-ancestors 'none'/);
    const text = await response.text();
    expect(text).toMatch(/<h1>kitsu-actions<\/h1>/);
    expect(text).toContain("The server behind this studio's Kitsu custom actions.");
    for (const path of ['/actions', '/jobs', '/healthz', '/readyz'])
      expect(text).toContain(`href="${harness.baseUrl}${path}"`);
    expect(text).toContain('the 2 actions of the catalogue');
    expect(text).not.toMatch(/<script/i);
  });

  it('/ for a program is a small JSON index with absolute links', async () => {
    for (const headers of [{}, { Accept: 'application/json' }]) {
      const response = await fetch(`${harness.baseUrl}/`, { headers });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await response.json()).toEqual({
        service: 'kitsu-actions',
        description: expect.stringMatching(/Kitsu's custom actions/) as unknown,
        links: {
          actions: `${harness.baseUrl}/actions`,
          jobs: `${harness.baseUrl}/jobs`,
          health: `${harness.baseUrl}/healthz`,
          ready: `${harness.baseUrl}/readyz`,
        },
      });
    }
  });

  it('GET /actions in a browser is a page listing each action and its URL, escaped, under the strict policy', async () => {
    const response = await fetch(`${harness.baseUrl}/actions`, { headers: browser });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(response.headers.get('content-security-policy')).toMatch(/^default-src 'none'; /);
    const text = await response.text();
    expect(text).toContain('<h1>Actions</h1>');
    expect(text).toContain(`<code>${harness.baseUrl}/actions/debug</code>`);
    expect(text).toContain(`<code>${harness.baseUrl}/actions/sneaky</code>`);
    expect(text).toContain('Render &lt;b&gt;&quot;now&quot;&lt;/b&gt; &amp; then');
    expect(text).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(text).not.toContain(script);
    expect(text).not.toContain('<b>');
    expect(text).toContain('on (in the background)');
  });

  it('under AUTH_MODE=token the catalogue page says the URLs carry the token, without showing it', async () => {
    const secret = 'landing-page-secret-token-1234';
    const tokenHarness = await startReceiver({
      redisUrl: inject('redisUrl'),
      catalogueYaml,
      env: { AUTH_MODE: 'token', ACTIONS_TOKEN: secret },
    });
    try {
      const text = await (await fetch(`${tokenHarness.baseUrl}/actions`, { headers: browser })).text();
      expect(text).toContain('AUTH_MODE=token: each URL registered in Kitsu ends with <code>?token=</code>');
      expect(text).not.toContain(secret);
    } finally {
      await tokenHarness.close();
    }
  });

  it('GET /actions stays JSON for programs, and with ?format=json for a browser', async () => {
    for (const [url, headers] of [
      [`${harness.baseUrl}/actions`, {}],
      [`${harness.baseUrl}/actions`, { Accept: 'application/json' }],
      [`${harness.baseUrl}/actions?format=json`, browser],
    ] as const) {
      const response = await fetch(url, { headers });
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      const body = (await response.json()) as { actions: Array<{ id: string; url: string }> };
      expect(body.actions.map((action) => [action.id, action.url])).toEqual([
        ['debug', `${harness.baseUrl}/actions/debug`],
        ['sneaky', `${harness.baseUrl}/actions/sneaky`],
      ]);
    }
  });
});
