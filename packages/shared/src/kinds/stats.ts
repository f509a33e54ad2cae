import { z } from 'zod';
import { ResultBase, defineKind } from './define.ts';

/**
 * What a `stats` report covers: the selected tasks, the episode of the page the action ran from
 * (`/productions/<id>/episodes/<id>/…`), or the whole production.
 */
export const StatsScope = z.enum(['selection', 'episode', 'production']);
export type StatsScope = z.infer<typeof StatsScope>;

export const StatsOptions = z.strictObject({
  scope: StatsScope.default('production'),
  /** Weeks of throughput and time spent shown, ending with the week of the report. */
  weeks: z.number().int().min(1).max(104).default(8),
  /** Rows kept in the late and over-budget lists (each says how many there are in all). */
  listLimit: z.number().int().min(1).max(1000).default(50),
});
export type StatsOptions = z.infer<typeof StatsOptions>;

const Minutes = z.number().nonnegative();
/** Spent ÷ estimate over the tasks that have an estimate; null when none has. */
const Ratio = z.number().nonnegative().nullable();

/** A task named in a list: its type, what it is on, who holds it. */
const ListedTask = z.object({
  taskId: z.string(),
  taskType: z.string(),
  /** The entity's name with its parents, e.g. "E01 / SQ010 / SH010", or its id when it cannot be read. */
  entity: z.string(),
  status: z.string(),
  assignees: z.array(z.string()),
});

/** Every number of a stats report; the page, result.csv and result.json all show these. */
export const StatsReport = z.object({
  /** The moment the figures are computed for (when the action was run). */
  asOf: z.iso.datetime(),
  scope: z.object({
    kind: StatsScope,
    projectId: z.string(),
    project: z.string(),
    episodeId: z.string().optional(),
    episode: z.string().optional(),
  }),
  weeks: z.number().int(),
  totals: z.object({
    tasks: z.number().int(),
    done: z.number().int(),
    open: z.number().int(),
    late: z.number().int(),
    retakes: z.number().int(),
    withoutEstimate: z.number().int(),
    withoutDueDate: z.number().int(),
    unassignedOpen: z.number().int(),
    unassignedRemaining: Minutes,
  }),
  /** Tasks by task type and status; `share` is of the task type's tasks. */
  byTypeAndStatus: z.array(
    z.object({
      taskType: z.string(),
      status: z.string(),
      done: z.boolean(),
      count: z.number().int(),
      share: z.number(),
    }),
  ),
  byTaskType: z.array(
    z.object({
      taskType: z.string(),
      tasks: z.number().int(),
      done: z.number().int(),
      doneShare: z.number(),
      retakes: z.number().int(),
      estimate: Minutes,
      spent: Minutes,
      ratio: Ratio,
      withoutEstimate: z.number().int(),
    }),
  ),
  /** A task counts whole for each of its assignees. */
  byPerson: z.array(
    z.object({
      personId: z.string(),
      person: z.string(),
      active: z.boolean(),
      tasks: z.number().int(),
      openTasks: z.number().int(),
      remainingEstimate: Minutes,
      retakes: z.number().int(),
      estimate: Minutes,
      spent: Minutes,
      ratio: Ratio,
    }),
  ),
  late: z.object({
    total: z.number().int(),
    shown: z.array(ListedTask.extend({ dueDate: z.string(), daysLate: z.number().int() })),
  }),
  overBudget: z.object({
    total: z.number().int(),
    shown: z.array(ListedTask.extend({ estimate: Minutes, spent: Minutes, ratio: z.number() })),
  }),
  /** Per week (its Monday, UTC), oldest first: tasks done that week among those done now. */
  throughput: z.array(z.object({ week: z.string(), done: z.number().int() })),
  /** Minutes logged per person and week, from Kitsu's time sheets. */
  timeSpent: z.array(
    z.object({ week: z.string(), personId: z.string(), person: z.string(), minutes: Minutes }),
  ),
});
export type StatsReport = z.infer<typeof StatsReport>;

export const StatsResult = ResultBase.extend({
  type: z.literal('stats'),
  title: z.string(),
  html: z.string(),
  report: StatsReport,
});
export type StatsResult = z.infer<typeof StatsResult>;

/** A CSV field as spreadsheets read it: quoted when it holds a comma, quote or line break. */
function csvField(value: string | number | boolean | null): string {
  const text = value === null ? '' : String(value);
  // A leading =, +, - or @ would be a formula to a spreadsheet: names from Kitsu are kept as text.
  const safe = typeof value === 'string' && /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/**
 * The report as one CSV table a spreadsheet filters: a row per number, with the figure it belongs to,
 * the task type, status, person, week and task it is about (empty when not), the measure and its value.
 * Times are in minutes, as Kitsu stores them.
 */
export function statsCsv(report: StatsReport): string {
  const header = ['figure', 'task_type', 'status', 'person', 'week', 'task', 'measure', 'value'];
  const rows: (string | number | boolean | null)[][] = [];
  const row = (
    figure: string,
    where: { taskType?: string; status?: string; person?: string; week?: string; task?: string },
    measures: Record<string, string | number | boolean | null>,
  ) => {
    for (const [measure, value] of Object.entries(measures)) {
      rows.push([
        figure,
        where.taskType ?? '',
        where.status ?? '',
        where.person ?? '',
        where.week ?? '',
        where.task ?? '',
        measure,
        value,
      ]);
    }
  };
  row('totals', {}, report.totals);
  for (const cell of report.byTypeAndStatus) {
    row('tasks by type and status', cell, { count: cell.count, share: cell.share });
  }
  for (const type of report.byTaskType) {
    const { taskType, ...measures } = type;
    row('task type', { taskType }, measures);
  }
  for (const person of report.byPerson) {
    const { person: name, personId, ...measures } = person;
    row('person', { person: name }, { personId, ...measures });
  }
  for (const task of report.late.shown) {
    row(
      'late',
      { taskType: task.taskType, status: task.status, person: task.assignees.join('; '), task: task.entity },
      { taskId: task.taskId, dueDate: task.dueDate, daysLate: task.daysLate },
    );
  }
  for (const task of report.overBudget.shown) {
    row(
      'over budget',
      { taskType: task.taskType, status: task.status, person: task.assignees.join('; '), task: task.entity },
      { taskId: task.taskId, estimate: task.estimate, spent: task.spent, ratio: task.ratio },
    );
  }
  for (const week of report.throughput) row('throughput', { week: week.week }, { done: week.done });
  for (const entry of report.timeSpent) {
    row('time spent', { week: entry.week, person: entry.person }, { minutes: entry.minutes });
  }
  return `${[header, ...rows].map((fields) => fields.map(csvField).join(',')).join('\r\n')}\r\n`;
}

/** A production manager's report: progress, late tasks, estimates against time spent, workload. */
export const stats = defineKind({
  kind: 'stats',
  queue: 'reports',
  options: StatsOptions,
  result: StatsResult,
  keepRawRequest: false,
  // A Kitsu that fails mid-report is tried again from the first page: attempts never mix their pages.
  jobOptions: { attempts: 3, backoff: { type: 'exponential', delay: 5000 } },
  describe: {
    comment: (result) => `${result.title}: ${result.summary}`,
    status: ({ type, title, summary, links }) => ({ type, title, summary, links }),
    page: (result) => result.html,
    files: {
      csv: (result) => statsCsv(result.report),
      json: (result) => `${JSON.stringify(result.report, null, 2)}\n`,
    },
  },
});
