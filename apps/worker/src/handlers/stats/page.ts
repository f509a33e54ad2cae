import { html, page, sortableTablesElement, SafeHtml } from '@kitsu-actions/shared';
import type * as EChartsModule from 'echarts';
import type { StatsReport } from './aggregate.ts';

type ECharts = typeof EChartsModule;

/** Bars a chart shows at most; its table beside it lists every row. */
const chartRows = 30;

const hours = (minutes: number): string => (minutes / 60).toFixed(1);
const percent = (share: number): string => `${(share * 100).toFixed(1)} %`;
const ratio = (value: number | null): string => (value === null ? '—' : value.toFixed(2));
const count = (value: number): string => value.toLocaleString('en');

/** One chart as inline SVG, drawn on the server by ECharts (no script runs in the page for it). */
function chart(echarts: ECharts, label: string, height: number, option: Record<string, unknown>): SafeHtml {
  const instance = echarts.init(null, null, { renderer: 'svg', ssr: true, width: 900, height });
  try {
    instance.setOption({ animation: false, textStyle: { fontFamily: 'system-ui, sans-serif' }, ...option });
    // ECharts escapes the names it draws; the SVG is trusted output of the library.
    return html`<figure class="chart" role="img" aria-label="${label}">
      ${new SafeHtml(instance.renderToSVGString())}
    </figure>`;
  } finally {
    instance.dispose();
  }
}

interface Column<T> {
  title: string;
  cell: (row: T) => string | number | SafeHtml;
  /** The value the column sorts by, when the text shown is not it (hours shown, minutes kept). */
  value?: (row: T) => number | string;
}

function table<T>(rows: readonly T[], columns: readonly Column<T>[], empty: string): SafeHtml {
  if (rows.length === 0) return html`<p class="muted">${empty}</p>`;
  return html`<table class="sortable">
    <thead>
      <tr>
        ${columns.map((column) => html`<th>${column.title}</th>`)}
      </tr>
    </thead>
    <tbody>
      ${rows.map(
        (row) =>
          html`<tr>
            ${columns.map((column) =>
              column.value === undefined
                ? html`<td>${column.cell(row)}</td>`
                : html`<td data-value="${column.value(row)}">${column.cell(row)}</td>`,
            )}
          </tr>`,
      )}
    </tbody>
  </table>`;
}

function definition(text: string): SafeHtml {
  return html`<p class="definition muted">${text}</p>`;
}

const style = new SafeHtml(`<style>
.tiles{display:flex;flex-wrap:wrap;gap:.75rem;margin:.5rem 0}
.tile{background:#f6f8fa;border-radius:6px;padding:.5rem .8rem;min-width:7rem}
.tile b{display:block;font-size:1.3rem}
.chart{margin:.5rem 0;overflow-x:auto}.chart svg{max-width:100%;height:auto}
th[role=button]{cursor:pointer}th[aria-sort=ascending]::after{content:" ▲"}th[aria-sort=descending]::after{content:" ▼"}
td[data-value]{font-variant-numeric:tabular-nums}
main{max-width:1100px}
</style>`);

/** ECharts, loaded with a worker's first report and kept (other kinds never load it). */
export const loadCharts = (): Promise<ECharts> => import('echarts');

export interface StatsPage {
  title: string;
  summary: string;
  html: string;
}

/** The report as one self-contained page: figures with their definitions, charts, sortable tables. */
export async function statsPage(
  report: StatsReport,
  actionName: string,
  files: { csv: string; json: string },
): Promise<StatsPage> {
  const echarts = await loadCharts();
  const { totals, scope } = report;
  const where =
    scope.kind === 'episode'
      ? `${scope.project}, episode ${scope.episode ?? scope.episodeId ?? ''}`
      : scope.kind === 'selection'
        ? `${scope.project}, the selected tasks`
        : scope.project;
  const title = `Statistics: ${where}`;
  const summary =
    totals.tasks === 0
      ? 'No tasks in this scope'
      : `${count(totals.tasks)} tasks, ${percent(totals.done / totals.tasks)} done, ${count(totals.late)} late`;
  const asOf = `${report.asOf.slice(0, 16).replace('T', ' ')} UTC`;

  const header = html`<div class="card">
    <h1>${title}</h1>
    <p>${summary}.</p>
    <p class="muted">
      "${actionName}", figures as of ${asOf}. The same numbers:
      <a href="${files.csv}" download>CSV</a> · <a href="${files.json}" download>JSON</a> (times in
      minutes, as Kitsu stores them; this page shows hours).
    </p>
  </div>`;

  if (totals.tasks === 0) {
    const body = html`${header}
      <div class="card">
        <h2>No tasks</h2>
        <p>
          ${
            scope.kind === 'selection'
              ? 'None of the selected tasks could be read in this production.'
              : scope.kind === 'episode'
                ? 'This episode has no tasks yet.'
                : 'This production has no tasks yet.'
          }
          There is nothing to count: add tasks in Kitsu, or run the action on another scope.
        </p>
      </div>`;
    return { title, summary, html: page({ title, body, head: style }).value };
  }

  const types = report.byTaskType.map((type) => type.taskType);
  const statusNames = [...new Set(report.byTypeAndStatus.map((cell) => cell.status))];
  const cells = new Map(report.byTypeAndStatus.map((cell) => [`${cell.taskType}\u0000${cell.status}`, cell]));
  const progressChart = chart(echarts, 'Tasks by task type and status', 120 + 28 * types.length, {
    legend: { top: 0, itemGap: 28 },
    grid: { left: 140, right: 30, top: 40, bottom: 30 },
    xAxis: { type: 'value', name: 'tasks' },
    yAxis: { type: 'category', data: types, inverse: true },
    series: statusNames.map((status) => ({
      type: 'bar',
      stack: 'tasks',
      name: status,
      data: types.map((type) => cells.get(`${type}\u0000${status}`)?.count ?? 0),
    })),
  });

  const estimateChart = chart(
    echarts,
    'Estimate and time spent per task type, in hours',
    120 + 36 * types.length,
    {
      legend: { top: 0, itemGap: 28 },
      grid: { left: 140, right: 30, top: 40, bottom: 30 },
      xAxis: { type: 'value', name: 'hours' },
      yAxis: { type: 'category', data: types, inverse: true },
      series: [
        {
          type: 'bar',
          name: 'estimate',
          data: report.byTaskType.map((type) => Number(hours(type.estimate))),
        },
        { type: 'bar', name: 'time spent', data: report.byTaskType.map((type) => Number(hours(type.spent))) },
      ],
    },
  );

  const busiest = [...report.byPerson].sort((a, b) => b.openTasks - a.openTasks).slice(0, chartRows);
  const workloadRows = [
    ...busiest.map((person) => ({ name: person.person, open: person.openTasks })),
    ...(totals.unassignedOpen > 0 ? [{ name: 'Unassigned', open: totals.unassignedOpen }] : []),
  ];
  const workloadChart =
    workloadRows.length === 0
      ? html`<p class="muted">No open task.</p>`
      : chart(echarts, 'Open tasks per person', 80 + 26 * workloadRows.length, {
          grid: { left: 170, right: 30, top: 20, bottom: 30 },
          xAxis: { type: 'value', name: 'open tasks' },
          yAxis: { type: 'category', data: workloadRows.map((row) => row.name), inverse: true },
          series: [{ type: 'bar', name: 'open tasks', data: workloadRows.map((row) => row.open) }],
        });

  const throughputChart = chart(echarts, 'Tasks done per week', 280, {
    grid: { left: 60, right: 30, top: 30, bottom: 40 },
    xAxis: { type: 'category', data: report.throughput.map((week) => week.week) },
    yAxis: { type: 'value', name: 'tasks done', minInterval: 1 },
    series: [{ type: 'bar', name: 'tasks done', data: report.throughput.map((week) => week.done) }],
  });

  const weeks = report.throughput.map((week) => week.week);
  const spentPeople = [...new Set(report.timeSpent.map((entry) => entry.person))].sort((a, b) =>
    a.localeCompare(b),
  );
  const spent = new Map(
    report.timeSpent.map((entry) => [`${entry.person}\u0000${entry.week}`, entry.minutes]),
  );
  const personLabel = (person: { person: string; active: boolean }) =>
    person.active ? person.person : html`${person.person} <span class="muted">(inactive)</span>`;
  const listed = (task: { entity: string; taskType: string }) =>
    html`${task.entity} <span class="muted">${task.taskType}</span>`;

  const body = html`${header}
    <div class="card">
      <div class="tiles">
        <div class="tile"><b>${count(totals.tasks)}</b>tasks</div>
        <div class="tile"><b>${count(totals.done)}</b>done (${percent(totals.done / totals.tasks)})</div>
        <div class="tile"><b>${count(totals.open)}</b>open</div>
        <div class="tile"><b>${count(totals.late)}</b>late</div>
        <div class="tile"><b>${count(totals.retakes)}</b>retakes</div>
        <div class="tile"><b>${count(totals.unassignedOpen)}</b>open and unassigned</div>
      </div>
      ${definition(
        `Done: a task whose status is flagged "is done" in Kitsu. Open: any other. ${count(totals.withoutEstimate)} tasks have no estimate and ${count(totals.withoutDueDate)} no due date.`,
      )}
    </div>

    <div class="card" id="progress">
      <h2>Where we are: tasks by task type and status</h2>
      ${definition('Each task counted once, under its task type and current status; the share is of the task type’s tasks.')}
      ${progressChart}
      ${table(
        report.byTaskType,
        [
          { title: 'Task type', cell: (row) => row.taskType },
          { title: 'Tasks', cell: (row) => count(row.tasks), value: (row) => row.tasks },
          { title: 'Done', cell: (row) => count(row.done), value: (row) => row.done },
          { title: 'Done share', cell: (row) => percent(row.doneShare), value: (row) => row.doneShare },
          { title: 'Retakes', cell: (row) => count(row.retakes), value: (row) => row.retakes },
        ],
        'No tasks.',
      )}
      <h3>By status</h3>
      ${table(
        report.byTypeAndStatus,
        [
          { title: 'Task type', cell: (row) => row.taskType },
          { title: 'Status', cell: (row) => row.status },
          { title: 'Tasks', cell: (row) => count(row.count), value: (row) => row.count },
          { title: 'Share of the type', cell: (row) => percent(row.share), value: (row) => row.share },
        ],
        'No tasks.',
      )}
    </div>

    <div class="card" id="late">
      <h2>What is late: ${count(report.late.total)} tasks</h2>
      ${definition(
        `A task is late when its due date has passed and it is not done; days late are whole days since the due date, as of ${asOf}. The latest first${report.late.total > report.late.shown.length ? `, ${count(report.late.shown.length)} of ${count(report.late.total)} shown (the exports hold the same rows: raise the action's listLimit for more)` : ''}.`,
      )}
      ${table(
        report.late.shown,
        [
          { title: 'Task', cell: listed, value: (row) => row.entity },
          { title: 'Status', cell: (row) => row.status },
          {
            title: 'Assignees',
            cell: (row) => (row.assignees.length === 0 ? 'unassigned' : row.assignees.join(', ')),
          },
          { title: 'Due', cell: (row) => row.dueDate.slice(0, 10), value: (row) => row.dueDate },
          { title: 'Days late', cell: (row) => count(row.daysLate), value: (row) => row.daysLate },
        ],
        'No task is late.',
      )}
    </div>

    <div class="card" id="estimates">
      <h2>Estimates against time spent</h2>
      ${definition(
        'In hours (Kitsu stores minutes). Time spent is what Kitsu sums from the time sheets on each task. The ratio is time spent ÷ estimate over the tasks that have an estimate: above 1, more time went in than planned. A task counts whole for each of its assignees.',
      )}
      ${estimateChart}
      ${table(
        report.byTaskType,
        [
          { title: 'Task type', cell: (row) => row.taskType },
          { title: 'Estimate (h)', cell: (row) => hours(row.estimate), value: (row) => row.estimate },
          { title: 'Spent (h)', cell: (row) => hours(row.spent), value: (row) => row.spent },
          { title: 'Ratio', cell: (row) => ratio(row.ratio), value: (row) => row.ratio ?? -1 },
          {
            title: 'No estimate',
            cell: (row) => count(row.withoutEstimate),
            value: (row) => row.withoutEstimate,
          },
        ],
        'No tasks.',
      )}
      <h3>Over budget: ${count(report.overBudget.total)} tasks</h3>
      ${definition(
        `Tasks whose time spent exceeds their estimate, the highest ratio first${report.overBudget.total > report.overBudget.shown.length ? `, ${count(report.overBudget.shown.length)} of ${count(report.overBudget.total)} shown` : ''}.`,
      )}
      ${table(
        report.overBudget.shown,
        [
          { title: 'Task', cell: listed, value: (row) => row.entity },
          {
            title: 'Assignees',
            cell: (row) => (row.assignees.length === 0 ? 'unassigned' : row.assignees.join(', ')),
          },
          { title: 'Estimate (h)', cell: (row) => hours(row.estimate), value: (row) => row.estimate },
          { title: 'Spent (h)', cell: (row) => hours(row.spent), value: (row) => row.spent },
          { title: 'Ratio', cell: (row) => ratio(row.ratio), value: (row) => row.ratio },
        ],
        'No task is over its estimate.',
      )}
    </div>

    <div class="card" id="workload">
      <h2>Who is overloaded: open workload per person</h2>
      ${definition(
        `Open tasks assigned to each person, and the estimate they still have left (estimate minus time spent, never below zero), in hours. Open tasks without an assignee: ${count(totals.unassignedOpen)}, with ${hours(totals.unassignedRemaining)} h left.${busiest.length < report.byPerson.length ? ` The chart shows the ${chartRows} with most open tasks; the table everyone.` : ''}`,
      )}
      ${workloadChart}
      ${table(
        report.byPerson,
        [
          { title: 'Person', cell: personLabel, value: (row) => row.person },
          { title: 'Open tasks', cell: (row) => count(row.openTasks), value: (row) => row.openTasks },
          {
            title: 'Left (h)',
            cell: (row) => hours(row.remainingEstimate),
            value: (row) => row.remainingEstimate,
          },
          { title: 'All tasks', cell: (row) => count(row.tasks), value: (row) => row.tasks },
          { title: 'Retakes', cell: (row) => count(row.retakes), value: (row) => row.retakes },
          { title: 'Estimate (h)', cell: (row) => hours(row.estimate), value: (row) => row.estimate },
          { title: 'Spent (h)', cell: (row) => hours(row.spent), value: (row) => row.spent },
          { title: 'Ratio', cell: (row) => ratio(row.ratio), value: (row) => row.ratio ?? -1 },
        ],
        'No task is assigned to anyone.',
      )}
    </div>

    <div class="card" id="throughput">
      <h2>Throughput: the last ${report.weeks} weeks</h2>
      ${definition(
        'Tasks done now, counted in the week (Monday to Sunday, UTC) of their done date; and the hours each person logged in Kitsu’s time sheets on this report’s tasks, per week.',
      )}
      ${throughputChart}
      ${table(
        spentPeople,
        [
          { title: 'Person', cell: (person) => person },
          ...weeks.map((week): Column<string> => ({
            title: week.slice(5),
            cell: (person) => hours(spent.get(`${person}\u0000${week}`) ?? 0),
            value: (person) => spent.get(`${person}\u0000${week}`) ?? 0,
          })),
        ],
        'No time logged in these weeks.',
      )}
    </div>
    ${sortableTablesElement}`;
  return { title, summary, html: page({ title, body, head: style }).value };
}
