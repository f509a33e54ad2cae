import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { jobKinds } from '@kitsu-actions/shared';
import type { FakeZou } from '@kitsu-actions/testing';
import { startZouReceiver, submitAction, type ReceiverHarness } from '../test/harness.ts';

// The stats action from Kitsu's click to the files a production manager downloads, through a worker
// process and the fake Zou's seeded production (Spring Festival, 57 tasks), whose right answers are
// computed here from the seed's rows, without the report's code.

const catalogueYaml = `
actions:
  - { id: debug, name: Debug selection, kind: debug, ajax: true }
  - { id: stats, name: Production statistics, kind: stats, ajax: true, options: { weeks: 4 } }
`;

describe('stats: Kitsu → receiver → worker process → report, CSV and JSON', () => {
  let zou: FakeZou;
  let harness: ReceiverHarness;
  let session: Record<string, string>;

  beforeAll(async () => {
    ({ zou, harness } = await startZouReceiver({ redisUrl: inject('redisUrl'), catalogueYaml }));
    session = { Cookie: `access_token_cookie=${zou.control.issueToken(zou.seed.ids.persons.manager)}` };
    await harness.startWorker().waitFor(/workers ready/);
  });
  afterAll(async () => {
    await harness.close();
  });

  async function run(actionId: string): Promise<{ jobId: string; view: Record<string, unknown> }> {
    const { ids } = zou.seed;
    const jobId = await submitAction(harness, actionId, {
      headers: session,
      fields: {
        personid: ids.persons.manager,
        projectid: ids.projects.spf,
        selection: ids.tasks.layoutSh010,
        entitytype: 'shot',
        currentpath: `/productions/${ids.projects.spf}/shots`,
      },
    });
    return { jobId, view: await harness.waitForJob(jobId, { headers: session }) };
  }

  it('counts the seeded production as its rows say, and serves the same numbers as page, CSV and JSON', async () => {
    const { jobId, view } = await run('stats');
    expect(view['state']).toBe('completed');
    const base = `${harness.baseUrl}/jobs/${jobId}`;
    expect(view['links']).toEqual(
      expect.arrayContaining([
        { label: 'CSV', href: `${base}/result.csv` },
        { label: 'JSON', href: `${base}/result.json` },
      ]),
    );

    const json = await fetch(`${base}/result.json`, { headers: session });
    expect(json.status).toBe(200);
    expect(json.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(json.headers.get('content-disposition')).toBe(`attachment; filename="${jobId}-result.json"`);
    const report = jobKinds.stats.result.shape.report.parse(await json.json());

    // The right answers, from the seed's rows.
    const { state } = zou;
    const spf = [...state.tasks.values()].filter((task) => task.project_id === zou.seed.ids.projects.spf);
    const isDone = (statusId: string): boolean => state.taskStatuses.get(statusId)?.is_done === true;
    const asOf = Date.parse(report.asOf);
    const late = spf.filter(
      (task) =>
        task.due_date !== null && !isDone(task.task_status_id) && Date.parse(`${task.due_date}Z`) < asOf,
    );
    expect(report.totals).toMatchObject({
      tasks: spf.length,
      done: spf.filter((task) => isDone(task.task_status_id)).length,
      late: late.length,
      retakes: spf.reduce((sum, task) => sum + task.retake_count, 0),
      unassignedOpen: spf.filter((task) => task.assignees.length === 0 && !isDone(task.task_status_id))
        .length,
    });
    expect(spf).toHaveLength(57);
    const cells = new Map<string, number>();
    for (const task of spf) {
      const key = `${state.taskTypes.get(task.task_type_id)?.name ?? ''}/${state.taskStatuses.get(task.task_status_id)?.name ?? ''}`;
      cells.set(key, (cells.get(key) ?? 0) + 1);
    }
    expect(
      new Map(report.byTypeAndStatus.map((cell) => [`${cell.taskType}/${cell.status}`, cell.count])),
    ).toEqual(cells);
    for (const type of report.byTaskType) {
      const ofType = spf.filter((task) => state.taskTypes.get(task.task_type_id)?.name === type.taskType);
      expect(type.estimate).toBe(ofType.reduce((sum, task) => sum + task.estimation, 0));
      expect(type.spent).toBe(ofType.reduce((sum, task) => sum + task.duration, 0));
    }
    const latest = [...late].sort((a, b) => (a.due_date ?? '').localeCompare(b.due_date ?? ''))[0];
    expect(report.late.shown[0]?.dueDate).toBe(latest?.due_date);

    const csv = await fetch(`${base}/result.csv`, { headers: session });
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    const rows = (await csv.text()).trimEnd().split('\r\n');
    expect(rows).toContain(`totals,,,,,,tasks,${spf.length}`);
    expect(rows).toContain(`totals,,,,,,late,${late.length}`);

    const page = await fetch(`${base}/result`, { headers: { ...session, Accept: 'text/html' } });
    expect(page.status).toBe(200);
    const text = await page.text();
    expect(text).toContain('<h1>Statistics: Spring Festival</h1>');
    expect(text).toMatch(new RegExp(`<b>${late.length}</b>\\s*late`));
    expect(text).toContain(`href="${base}/result.csv" download`);
    // The status page links the files too.
    const status = await fetch(base, { headers: { ...session, Accept: 'text/html' } });
    expect(await status.text()).toContain(`href="${base}/result.csv"`);
  });

  it('answers 404 for the files of a kind that has none, and for a reader who may not see the job', async () => {
    const { jobId, view } = await run('debug');
    expect(view['state']).toBe('completed');
    const csv = await fetch(`${harness.baseUrl}/jobs/${jobId}/result.csv`, { headers: session });
    expect(csv.status).toBe(404);
    expect(await csv.json()).toMatchObject({
      error: { code: 'no_result_page', message: `Job ${jobId} has no result.csv.` },
    });

    const stats = await run('stats');
    const outsider = {
      Cookie: `access_token_cookie=${zou.control.issueToken(zou.seed.ids.persons.outsider)}`,
    };
    const hidden = await fetch(`${harness.baseUrl}/jobs/${stats.jobId}/result.json`, { headers: outsider });
    expect(hidden.status).toBe(404);
    expect(await hidden.json()).toMatchObject({ error: { code: 'unknown_job' } });
  });
});
