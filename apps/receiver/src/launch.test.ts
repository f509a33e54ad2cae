import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { FakeZou } from '@kitsu-actions/testing';
import { kitsuOrigin, startZouReceiver, type ReceiverHarness } from '../test/harness.ts';

const catalogueYaml = `
actions:
  - id: open-rv
    name: Open in RV
    kind: launch
    options:
      url: "rv://open/{sequence.name}/{shot.name}?frames={frames}&task={taskType.name}"
      label: Open in RV
`;

describe('launch: Kitsu → receiver → worker process → the URL on the status page', () => {
  let zou: FakeZou;
  let harness: ReceiverHarness;
  let session: Record<string, string>;

  beforeAll(async () => {
    ({ zou, harness } = await startZouReceiver({ redisUrl: inject('redisUrl'), catalogueYaml }));
    session = { Cookie: `access_token_cookie=${zou.control.issueToken(zou.seed.ids.persons.manager)}` };
    // A shot whose name needs encoding everywhere in a URL.
    const task = zou.state.tasks.get(zou.seed.ids.tasks.lightingSh010);
    const shot = task === undefined ? undefined : zou.state.entities.get(task.entity_id);
    if (shot === undefined) throw new Error('the seed has no SH010');
    shot.name = 'SH 010 é#?';
    await harness.startWorker().waitFor(/workers ready/);
  });
  afterAll(() => harness.close());

  const send = (selection: string[], accept: string): Promise<Response> =>
    fetch(`${harness.baseUrl}/actions/open-rv`, {
      method: 'POST',
      redirect: 'manual',
      headers: {
        ...session,
        Origin: kitsuOrigin,
        Accept: accept,
        'Content-Type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({
        personid: zou.seed.ids.persons.manager,
        projectid: zou.seed.ids.projects.spf,
        selection: selection.join(','),
        entitytype: 'shot',
      }).toString(),
    });

  it('the form tab opens the URL, encoded for its place, as soon as the job completes, with a button to open it again', async () => {
    const sent = await send([zou.seed.ids.tasks.lightingSh010], 'text/html');
    expect(sent.status).toBe(303);
    const statusUrl = sent.headers.get('location') ?? '';
    const jobId = statusUrl.split('/jobs/')[1]?.split('?')[0] ?? '';
    const view = await harness.waitForJob(jobId, { headers: session });
    expect(view['state']).toBe('completed');
    const url = 'rv://open/SQ010/SH%20010%20%C3%A9%23%3F?frames=1001-1048&task=Lighting';
    expect(view['result']).toMatchObject({
      type: 'launch',
      summary: 'Open in RV: E01 / SQ010 / SH 010 é#?',
      open: url,
      targets: [{ taskId: zou.seed.ids.tasks.lightingSh010, name: 'E01 / SQ010 / SH 010 é#?', url }],
    });
    expect(view['links']).toContainEqual({ label: 'Open in RV: E01 / SQ010 / SH 010 é#?', href: url });
    const page = await (await fetch(statusUrl, { headers: { ...session, Accept: 'text/html' } })).text();
    const inHtml = url.replace(/&/g, '&amp;');
    expect(page).toContain(`<meta http-equiv="refresh" content="0; url=${inHtml}" />`);
    expect(page).toContain(`<a href="${inHtml}">Open in RV: E01 / SQ010 / SH 010 é#?</a>`);
    expect(page).toContain('Opened as the job completed');
  });

  it('a selection of several tasks gives a button per task and opens none by itself', async () => {
    const { ids } = zou.seed;
    const sent = await send([ids.tasks.lightingSh010, ids.tasks.layoutSh010], 'application/json');
    expect(sent.status).toBe(202);
    const { jobId } = (await sent.json()) as { jobId: string };
    const view = await harness.waitForJob(jobId, { headers: session });
    expect(view['state']).toBe('completed');
    const result = view['result'] as { open?: string; targets: Array<{ url: string }>; summary: string };
    expect(result.open).toBeUndefined();
    expect(result.targets.map((target) => target.url)).toEqual([
      'rv://open/SQ010/SH%20010%20%C3%A9%23%3F?frames=1001-1048&task=Lighting',
      'rv://open/SQ010/SH%20010%20%C3%A9%23%3F?frames=1001-1048&task=Layout',
    ]);
    expect(result.summary).toMatch(/^Open in RV: 2 links, one per task/);
    const page = await (
      await fetch(`${harness.baseUrl}/jobs/${jobId}`, { headers: { ...session, Accept: 'text/html' } })
    ).text();
    expect(page).not.toContain('http-equiv="refresh"');
  });

  it('a task of an entity type the action does not open fails the job, naming it', async () => {
    const sent = await send([zou.seed.ids.tasks.modelingMei], 'application/json');
    const { jobId } = (await sent.json()) as { jobId: string };
    const view = await harness.waitForJob(jobId, { headers: session });
    expect(view['state']).toBe('failed');
    expect((view['error'] as { message: string }).message).toMatch(
      /^Nothing to open: 1 asset task selected \(.*Mei.*\), but "Open in RV" opens shot tasks only/,
    );
  });
});
