import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { FakeZou } from '@kitsu-actions/testing';
import { kitsuOrigin, startZouReceiver, type ReceiverHarness } from '../test/harness.ts';

// A stats report opened in a real browser (Debian's Chromium, headless): the charts are drawn, the
// tables sort, nothing is fetched from anywhere, nothing is refused by the page's policy. The screenshot
// is kept in reports/artifacts/ for a person to look at.

const catalogueYaml = `
actions:
  - { id: stats, name: Production statistics, kind: stats, ajax: true, options: { weeks: 6 } }
`;
/** What the checks read of the page's elements (the suite is typed without the DOM's library). */
interface DrawnElement {
  getBoundingClientRect(): { width: number; height: number };
  querySelectorAll(selector: string): { length: number };
  getAttribute(name: string): string | null;
}

const artifacts = path.resolve(import.meta.dirname, '../../../reports/artifacts');

describe('stats report in Chromium', () => {
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

  it('draws every chart, sorts a table on a click, loads nothing else and logs no error', async () => {
    const { ids } = zou.seed;
    const sent = await fetch(`${harness.baseUrl}/actions/stats`, {
      method: 'POST',
      headers: {
        Cookie: `access_token_cookie=${token}`,
        Origin: kitsuOrigin,
        Accept: 'application/json',
        'Content-Type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({
        personid: ids.persons.manager,
        projectid: ids.projects.spf,
        selection: ids.tasks.layoutSh010,
        entitytype: 'shot',
      }).toString(),
    });
    expect(sent.status).toBe(202);
    const jobId = String(((await sent.json()) as { jobId: string }).jobId);
    const view = await harness.waitForJob(jobId, { headers: { Cookie: `access_token_cookie=${token}` } });
    expect(view['state']).toBe('completed');

    const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    await context.addCookies([{ name: 'access_token_cookie', value: token, url: harness.baseUrl }]);
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
    const requested: string[] = [];
    page.on('request', (request) => requested.push(request.url()));
    const resultUrl = `${harness.baseUrl}/jobs/${jobId}/result`;
    const answer = await page.goto(resultUrl);
    expect(answer?.status()).toBe(200);
    await page.waitForLoadState('load');

    // Four charts, each drawn with bars of a real size.
    const charts = page.locator('figure.chart svg');
    expect(await charts.count()).toBe(4);
    const boxes = await charts.evaluateAll((svgs: DrawnElement[]) =>
      svgs.map((svg) => ({
        width: svg.getBoundingClientRect().width,
        height: svg.getBoundingClientRect().height,
        paths: svg.querySelectorAll('path').length,
      })),
    );
    expect(boxes).toHaveLength(4);
    for (const box of boxes) {
      expect(box.width).toBeGreaterThan(300);
      expect(box.height).toBeGreaterThan(100);
      expect(box.paths).toBeGreaterThan(3);
    }

    // The late table sorts by days late on a click on its header: ascending, then descending.
    const days = () =>
      page
        .locator('#late table tbody tr td:nth-child(5)')
        .evaluateAll((cells: DrawnElement[]) => cells.map((cell) => Number(cell.getAttribute('data-value'))));
    const before = await days();
    expect(before.length).toBeGreaterThan(3);
    expect(before).toEqual([...before].sort((a, b) => b - a));
    const header = page.locator('#late table thead th', { hasText: 'Days late' });
    await header.click();
    expect(await header.getAttribute('aria-sort')).toBe('ascending');
    expect(await days()).toEqual([...before].sort((a, b) => a - b));
    await header.click();
    expect(await days()).toEqual([...before].sort((a, b) => b - a));

    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: path.join(artifacts, 'stats-report.png'), fullPage: true });
    expect(requested).toEqual([resultUrl]);
    expect(problems).toEqual([]);
    await context.close();
  });
});
