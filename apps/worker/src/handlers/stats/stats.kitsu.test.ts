import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, jobKinds, type VerifiedRequest } from '@kitsu-actions/shared';
import { BIG_PROJECT_TASKS, zouTargets, type ZouTarget } from '@kitsu-actions/testing';
import { createZouClient, type ZouClient } from '@kitsu-actions/zou';
import type { StatsReport } from './aggregate.ts';
import { loadStats } from './load.ts';

// Contract: the stats report read through the Zou routes it pages (project tasks, task types, statuses,
// persons, time spents, entities) is the same on the fake and the real Zou, and both match the numbers
// computed here from the rows the two were seeded with. Big Show (150 tasks, two pages of Zou's 100) is
// written by no test of the run, so its statuses and dates are still the seed's.

const asOf = '2025-05-01T00:00:00.000Z';
const weeks = 12;
const dayMs = 86_400_000;

/** The Monday of a day, written independently of the report's code: walk back to a Monday. */
function monday(ms: number): string {
  let day = new Date(Math.floor(ms / dayMs) * dayMs);
  while (day.getUTCDay() !== 1) day = new Date(day.getTime() - dayMs);
  return day.toISOString().slice(0, 10);
}

/**
 * The report without what differs between the two Zous by construction: ids, and so which of equally
 * late (or equally over-budget) tasks come first in a list cut to its limit (ties are broken by task id).
 * The listed rows are compared by their numbers and task types.
 */
function withoutIds(report: StatsReport): unknown {
  const ids = new Set(['taskId', 'personId', 'projectId', 'episodeId', 'entity', 'status']);
  return JSON.parse(JSON.stringify(report, (key, value: unknown) => (ids.has(key) ? undefined : value)));
}

const reports = new Map<string, StatsReport>();

describe.each(zouTargets)('$name: stats report', ({ name, start }) => {
  let zou: ZouTarget;
  let bot: ZouClient;

  beforeAll(async () => {
    zou = await start();
    bot = createZouClient({
      baseUrl: zou.url,
      auth: { token: zou.botToken },
      retries: 1,
      retryBaseDelayMs: 50,
    });
  });
  afterAll(async () => {
    await zou.close();
  });

  const run = (projectId: string, scope: 'production' | 'episode', path?: string): Promise<StatsReport> => {
    const request: VerifiedRequest = {
      actionId: 'stats',
      personId: zou.ids.persons.manager,
      projectId,
      taskIds: [zou.ids.tasks.big[0] ?? ''],
      entityType: 'shot',
      origin: path === undefined ? {} : { path },
      mode: 'ajax',
      receivedAt: asOf,
    };
    return loadStats({
      zou: bot,
      request,
      options: jobKinds.stats.options.parse({ scope, weeks, listLimit: 20 }),
      asOf: new Date(asOf),
      signal: new AbortController().signal,
      log: createLogger({ level: 'silent', name: 'stats-contract' }),
      progress: () => Promise.resolve(),
    });
  };

  it('Big Show: the numbers of its seeded rows, read over its two pages', async () => {
    const big = zou.ids.projects.big ?? '';
    const report = await run(big, 'production');
    reports.set(name, report);

    const { rows } = zou.production;
    const tasks = rows.tasks.filter((task) => zou.idOf(task.project_id) === big);
    expect(tasks).toHaveLength(BIG_PROJECT_TASKS);
    const status = new Map(rows.taskStatuses.map((row) => [row.id, row]));
    const type = new Map(rows.taskTypes.map((row) => [row.id, row]));
    const done = (task: (typeof tasks)[number]) => status.get(task.task_status_id)?.is_done === true;
    const open = tasks.filter((task) => !done(task));
    const now = Date.parse(asOf);
    const late = open.filter((task) => task.due_date !== null && Date.parse(`${task.due_date}Z`) < now);

    expect(report.totals).toEqual({
      tasks: BIG_PROJECT_TASKS,
      done: tasks.length - open.length,
      open: open.length,
      late: late.length,
      retakes: tasks.reduce((sum, task) => sum + task.retake_count, 0),
      withoutEstimate: tasks.filter((task) => task.estimation <= 0).length,
      withoutDueDate: tasks.filter((task) => task.due_date === null).length,
      unassignedOpen: open.length,
      unassignedRemaining: open.reduce((sum, task) => sum + Math.max(0, task.estimation - task.duration), 0),
    });
    const cells = new Map<string, number>();
    for (const task of tasks) {
      const key = `${type.get(task.task_type_id)?.name ?? ''}/${status.get(task.task_status_id)?.name ?? ''}`;
      cells.set(key, (cells.get(key) ?? 0) + 1);
    }
    expect(
      new Map(report.byTypeAndStatus.map((cell) => [`${cell.taskType}/${cell.status}`, cell.count])),
    ).toEqual(cells);
    for (const row of report.byTaskType) {
      const ofType = tasks.filter((task) => type.get(task.task_type_id)?.name === row.taskType);
      expect(row).toMatchObject({
        tasks: ofType.length,
        done: ofType.filter(done).length,
        estimate: ofType.reduce((sum, task) => sum + task.estimation, 0),
        spent: ofType.reduce((sum, task) => sum + task.duration, 0),
      });
    }
    expect(report.byPerson).toEqual([]);
    const worst = Math.max(
      ...late.map((task) => Math.floor((now - Date.parse(`${task.due_date ?? ''}Z`)) / dayMs)),
    );
    expect(report.late.shown[0]?.daysLate).toBe(worst);
    expect(report.late.shown[0]?.entity).toMatch(/^SQ\d{3} \/ SH\d{4}$/);

    const doneWeeks = new Map<string, number>();
    for (const task of tasks.filter(done)) {
      const week = monday(Date.parse(`${task.done_date ?? task.end_date ?? ''}Z`));
      doneWeeks.set(week, (doneWeeks.get(week) ?? 0) + 1);
    }
    const window = report.throughput.map((week) => week.week);
    expect(window).toHaveLength(weeks);
    expect(window.at(-1)).toBe(monday(now));
    expect(report.throughput).toEqual(window.map((week) => ({ week, done: doneWeeks.get(week) ?? 0 })));
    expect(report.throughput.some((week) => week.done > 0)).toBe(true);
  });

  it('Spring Festival, episode E02: only the tasks of its shots', async () => {
    const spf = zou.ids.projects.spf;
    const e02 = zou.ids.episodes[1] ?? '';
    const report = await run(spf, 'episode', `/productions/${spf}/episodes/${e02}/shots`);
    // E02 has one sequence of four shots, four tasks each (statuses are left out: other suites change them).
    expect(report.scope).toMatchObject({ kind: 'episode', episode: 'E02', project: 'Spring Festival' });
    expect(report.totals.tasks).toBe(16);
  });
});

describe('stats report: fake and real Zou', () => {
  it('give the same report for Big Show', () => {
    const fake = reports.get('fake Zou');
    const real = reports.get('real Zou');
    expect(fake).toBeDefined();
    expect(real).toBeDefined();
    expect(withoutIds(real as StatsReport)).toEqual(withoutIds(fake as StatsReport));
  });
});
