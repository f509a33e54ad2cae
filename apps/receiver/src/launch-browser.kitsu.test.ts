import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { FakeZou } from '@kitsu-actions/testing';
import { kitsuOrigin, startZouReceiver, type ReceiverHarness } from '../test/harness.ts';

// A launch's status page in a real browser (Debian's Chromium, headless): the page itself asks to open
// the application's URL once the job has completed, and its button asks again. Chromium reports each
// navigation it is asked for (DevTools' Page.frameRequestedNavigation), even to a scheme it cannot open.

const catalogueYaml = `
actions:
  - { id: open-rv, name: Open in RV, kind: launch, options: { url: "rv://open/{shot.name}?frames={frames}", label: Open in RV } }
`;

describe('launch status page in Chromium', () => {
  let zou: FakeZou;
  let harness: ReceiverHarness;
  let browser: Browser;
  let token: string;

  beforeAll(async () => {
    ({ zou, harness } = await startZouReceiver({ redisUrl: inject('redisUrl'), catalogueYaml }));
    token = zou.control.issueToken(zou.seed.ids.persons.manager);
    await harness.startWorker().waitFor(/workers ready/);
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });
  afterAll(async () => {
    await browser.close();
    await harness.close();
  });

  it('opens the URL as the completed page loads, and again on its button', async () => {
    const { ids } = zou.seed;
    const session = { Cookie: `access_token_cookie=${token}` };
    const sent = await fetch(`${harness.baseUrl}/actions/open-rv`, {
      method: 'POST',
      redirect: 'manual',
      headers: {
        ...session,
        Origin: kitsuOrigin,
        Accept: 'text/html',
        'Content-Type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({
        personid: ids.persons.manager,
        projectid: ids.projects.spf,
        selection: ids.tasks.lightingSh010,
        entitytype: 'shot',
      }).toString(),
    });
    expect(sent.status).toBe(303);
    const statusUrl = sent.headers.get('location') ?? '';
    const jobId = statusUrl.split('/jobs/')[1]?.split('?')[0] ?? '';
    expect((await harness.waitForJob(jobId, { headers: session }))['state']).toBe('completed');

    const context = await browser.newContext();
    await context.addCookies([{ name: 'access_token_cookie', value: token, url: harness.baseUrl }]);
    const page = await context.newPage();
    const devtools = await context.newCDPSession(page);
    await devtools.send('Page.enable');
    const asked: Array<{ url: string; reason: string }> = [];
    devtools.on('Page.frameRequestedNavigation', (event) =>
      asked.push({ url: event.url, reason: event.reason }),
    );

    const url = 'rv://open/SH010?frames=1001-1048';
    await page.goto(statusUrl);
    await expect.poll(() => asked, { timeout: 10_000 }).toContainEqual({ url, reason: 'metaTagRefresh' });
    await page.getByRole('link', { name: 'Open in RV: E01 / SQ010 / SH010' }).click();
    await expect.poll(() => asked.filter((entry) => entry.url === url).length, { timeout: 10_000 }).toBe(2);
    expect(asked.every((entry) => entry.url === url)).toBe(true);
    await context.close();
  });
});
