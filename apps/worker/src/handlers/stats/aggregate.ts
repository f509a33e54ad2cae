import type { KindResult } from '@kitsu-actions/shared';
import type { TaskFigures, TimeSpent } from '@kitsu-actions/zou';

export type StatsReport = KindResult<'stats'>['report'];
type ListedLate = StatsReport['late']['shown'][number];
type ListedOver = StatsReport['overBudget']['shown'][number];
/** What each list is ordered by. */
type LateKey = Pick<ListedLate, 'daysLate' | 'dueDate' | 'taskType' | 'taskId'>;
type OverKey = Pick<ListedOver, 'ratio' | 'spent' | 'estimate' | 'taskType' | 'taskId'>;

const dayMs = 86_400_000;
const weekMs = 7 * dayMs;

/** What the figures name things by: Kitsu's task types, statuses and people, read once per report. */
export interface StatsLookups {
  taskTypes: ReadonlyMap<string, { name: string; priority?: number | null | undefined }>;
  statuses: ReadonlyMap<string, { name: string; done: boolean }>;
  persons: ReadonlyMap<string, { name: string; active: boolean }>;
}

export interface AggregateOptions {
  asOf: Date;
  weeks: number;
  listLimit: number;
}

/** A listed task before its entity's name is known. */
type Pending<T> = Omit<T, 'entity'> & { entityId: string };

/**
 * Keeps the `limit` first items in `order`, holding at most twice that many at any time. `order` reads
 * only the fields of `K`, so that a task can be checked against the list before its entry is made.
 */
class Best<T extends K, K = T> {
  private items: T[] = [];
  total = 0;
  constructor(
    private readonly limit: number,
    private readonly order: (a: K, b: K) => number,
  ) {}
  /** The last item kept at the latest trim: an item that does not come before it can never be listed. */
  private cutoff: T | undefined;
  /** Counts an item that belongs in the list; true when it could still be listed (then `add` it). */
  admits(key: K): boolean {
    this.total += 1;
    return this.cutoff === undefined || this.order(key, this.cutoff) < 0;
  }
  /** An item `admits` let in. */
  add(item: T): void {
    this.items.push(item);
    if (this.items.length >= 2 * this.limit) this.trim();
  }
  private trim(): void {
    this.items.sort(this.order);
    this.items.length = Math.min(this.items.length, this.limit);
    if (this.items.length === this.limit) this.cutoff = this.items[this.limit - 1];
  }
  list(): T[] {
    this.trim();
    return this.items;
  }
}

interface Sums {
  tasks: number;
  done: number;
  retakes: number;
  estimate: number;
  /** Time spent on every task. */
  spent: number;
  /** Estimate and time spent of the tasks that have an estimate: the ratio's terms. */
  estimated: number;
  spentOnEstimated: number;
  withoutEstimate: number;
  openTasks: number;
  remaining: number;
}

const emptySums = (): Sums => ({
  tasks: 0,
  done: 0,
  retakes: 0,
  estimate: 0,
  spent: 0,
  estimated: 0,
  spentOnEstimated: 0,
  withoutEstimate: 0,
  openTasks: 0,
  remaining: 0,
});

const round = (value: number, digits: number): number => {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
};
const minutes = (value: number): number => round(value, 2);
const ratioOf = (sums: Sums): number | null =>
  sums.estimated > 0 ? round(sums.spentOnEstimated / sums.estimated, 3) : null;

/** The Monday (UTC) of the week holding `ms`, as "2026-11-30". */
export function weekOf(ms: number): string {
  const day = Math.floor(ms / dayMs);
  // 1970-01-01 was a Thursday: day 4 of the week counted from Monday 0.
  const monday = day - ((day + 3) % 7);
  return new Date(monday * dayMs).toISOString().slice(0, 10);
}

/** Zou's DateTimes have no zone and are UTC; a bare date ("2026-11-30") is its midnight UTC. */
function parseZouTime(value: string | null | undefined): number | undefined {
  if (value === null || value === undefined) return undefined;
  const ms = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(value) || value.length <= 10 ? value : `${value}Z`);
  return Number.isNaN(ms) ? undefined : ms;
}

const shortId = (id: string): string => id.slice(0, 8);

const noOne: readonly string[] = [];

/** A task's assignees, each once (Kitsu does not repeat one; a list of one is taken as it is). */
const assigneesOf = (ids: readonly string[] | undefined): readonly string[] =>
  ids === undefined || ids.length === 0 ? noOne : ids.length === 1 ? ids : [...new Set(ids)];

/** Adds one task's figures to `sums`. */
function addTo(
  sums: Sums,
  task: { estimate: number; spent: number; retakes: number; done: boolean; remaining: number },
): void {
  sums.tasks += 1;
  sums.retakes += task.retakes;
  sums.spent += task.spent;
  if (task.estimate > 0) {
    sums.estimate += task.estimate;
    sums.estimated += task.estimate;
    sums.spentOnEstimated += task.spent;
  } else {
    sums.withoutEstimate += 1;
  }
  if (task.done) {
    sums.done += 1;
  } else {
    sums.openTasks += 1;
    sums.remaining += task.remaining;
  }
}

/** Code-point order: the same in every locale, and far cheaper than localeCompare on every task. */
const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * A stats report computed in one pass over pages of tasks: each page is added and dropped, and only sums,
 * the ids seen (for the time sheets of the scope) and the worst few tasks of each list are kept, so the
 * memory used does not grow with the production beyond one id per task.
 */
export class StatsAggregator {
  private readonly byType = new Map<string, Sums>();
  private readonly byTypeStatus = new Map<string, Map<string, number>>();
  private readonly byPerson = new Map<string, Sums>();
  private readonly unassigned = emptySums();
  private readonly totals = emptySums();
  private withoutDueDate = 0;
  private readonly late: Best<Pending<ListedLate>, LateKey>;
  private readonly over: Best<Pending<ListedOver>, OverKey>;
  /** The week of each day seen (a production's tasks end on a few hundred days). */
  private readonly weekOfDay = new Map<number, string>();
  private readonly done = new Map<string, number>();
  private readonly spentByWeek = new Map<string, Map<string, number>>();
  private readonly weekStarts: string[];
  private readonly taskIds = new Set<string>();
  private readonly asOfMs: number;

  constructor(
    private readonly lookups: StatsLookups,
    private readonly options: AggregateOptions,
  ) {
    this.asOfMs = options.asOf.getTime();
    const last = Date.parse(`${weekOf(this.asOfMs)}T00:00:00Z`);
    this.weekStarts = Array.from({ length: options.weeks }, (_, index) =>
      weekOf(last - (options.weeks - 1 - index) * weekMs),
    );
    this.late = new Best<Pending<ListedLate>, LateKey>(
      options.listLimit,
      (a, b) =>
        b.daysLate - a.daysLate ||
        byText(a.dueDate, b.dueDate) ||
        byText(a.taskType, b.taskType) ||
        byText(a.taskId, b.taskId),
    );
    this.over = new Best<Pending<ListedOver>, OverKey>(
      options.listLimit,
      (a, b) =>
        b.ratio - a.ratio ||
        b.spent - b.estimate - (a.spent - a.estimate) ||
        byText(a.taskType, b.taskType) ||
        byText(a.taskId, b.taskId),
    );
  }

  /** Tasks counted so far. */
  get count(): number {
    return this.taskIds.size;
  }

  taskTypeName(id: string): string {
    return this.lookups.taskTypes.get(id)?.name ?? `Deleted task type (${shortId(id)})`;
  }

  private status(id: string): { name: string; done: boolean } {
    return this.lookups.statuses.get(id) ?? { name: `Deleted status (${shortId(id)})`, done: false };
  }

  personName(id: string): string {
    return this.lookups.persons.get(id)?.name ?? `Unknown person (${shortId(id)})`;
  }

  /** Adds tasks; a task already added (the same id) is not counted again. */
  add(tasks: readonly TaskFigures[]): void {
    for (const task of tasks) {
      if (this.taskIds.has(task.id)) continue;
      this.taskIds.add(task.id);
      this.addTask(task);
    }
  }

  private addTask(task: TaskFigures): void {
    const status = this.status(task.task_status_id);
    const estimate = task.estimation !== null && task.estimation > 0 ? task.estimation : 0;
    const spent = task.duration !== null && task.duration > 0 ? task.duration : 0;
    const figures = {
      estimate,
      spent,
      retakes: task.retake_count ?? 0,
      done: status.done,
      remaining: status.done ? 0 : Math.max(0, estimate - spent),
    };

    addTo(this.totals, figures);
    const typeId = task.task_type_id;
    let type = this.byType.get(typeId);
    if (type === undefined) this.byType.set(typeId, (type = emptySums()));
    addTo(type, figures);
    let statuses = this.byTypeStatus.get(typeId);
    if (statuses === undefined) this.byTypeStatus.set(typeId, (statuses = new Map<string, number>()));
    statuses.set(task.task_status_id, (statuses.get(task.task_status_id) ?? 0) + 1);

    const assignees = assigneesOf(task.assignees);
    for (const personId of assignees) {
      let person = this.byPerson.get(personId);
      if (person === undefined) this.byPerson.set(personId, (person = emptySums()));
      addTo(person, figures);
    }
    if (assignees.length === 0) addTo(this.unassigned, figures);

    const due = parseZouTime(task.due_date);
    if (due === undefined) this.withoutDueDate += 1;
    else if (!status.done && due < this.asOfMs) {
      // Most late tasks are not among the worst: the entry is made only for those that may be.
      const key = {
        daysLate: Math.floor((this.asOfMs - due) / dayMs),
        dueDate: task.due_date ?? '',
        taskType: this.taskTypeName(typeId),
        taskId: task.id,
      };
      if (this.late.admits(key)) this.late.add({ ...this.listed(task, status, assignees), ...key });
    }
    if (estimate > 0 && spent > estimate) {
      const key = {
        ratio: round(spent / estimate, 3),
        spent,
        estimate,
        taskType: this.taskTypeName(typeId),
        taskId: task.id,
      };
      if (this.over.admits(key)) this.over.add({ ...this.listed(task, status, assignees), ...key });
    }
    if (status.done) {
      const doneAt = parseZouTime(task.done_date ?? task.end_date);
      if (doneAt !== undefined && doneAt <= this.asOfMs) {
        const week = this.weekOfMs(doneAt);
        this.done.set(week, (this.done.get(week) ?? 0) + 1);
      }
    }
  }

  /** A listed task's entry, but its figures. */
  private listed(
    task: TaskFigures,
    status: { name: string },
    assignees: readonly string[],
  ): Pick<Pending<ListedLate>, 'entityId' | 'status' | 'assignees'> {
    return {
      entityId: task.entity_id,
      status: status.name,
      assignees: assignees.map((id) => this.personName(id)),
    };
  }

  private weekOfMs(ms: number): string {
    const day = Math.floor(ms / dayMs);
    let week = this.weekOfDay.get(day);
    if (week === undefined) this.weekOfDay.set(day, (week = weekOf(ms)));
    return week;
  }

  /** Adds time sheet entries; those of tasks outside the report's tasks are left out. */
  addTimeSpents(entries: readonly TimeSpent[]): void {
    const first = this.weekStarts[0] ?? '';
    for (const entry of entries) {
      if (!this.taskIds.has(entry.task_id)) continue;
      const day = parseZouTime(entry.date.slice(0, 10));
      if (day === undefined || day > this.asOfMs) continue;
      const week = weekOf(day);
      if (week < first) continue;
      let persons = this.spentByWeek.get(week);
      if (persons === undefined) this.spentByWeek.set(week, (persons = new Map<string, number>()));
      persons.set(entry.person_id, (persons.get(entry.person_id) ?? 0) + entry.duration);
    }
  }

  /** The entities the lists name, for the caller to read their names. */
  listedEntityIds(): string[] {
    return [...new Set([...this.late.list(), ...this.over.list()].map((task) => task.entityId))];
  }

  /** The report, naming each listed task's entity by `entityNames` (its id when missing there). */
  report(scope: StatsReport['scope'], entityNames: ReadonlyMap<string, string> = new Map()): StatsReport {
    const named = <T extends { entityId: string }>({ entityId, ...task }: T) => ({
      ...task,
      entity: entityNames.get(entityId) ?? entityId,
    });
    const typeOrder = [...this.byType.keys()].sort((a, b) => {
      const x = this.lookups.taskTypes.get(a);
      const y = this.lookups.taskTypes.get(b);
      return (
        (x?.priority ?? Number.MAX_SAFE_INTEGER) - (y?.priority ?? Number.MAX_SAFE_INTEGER) ||
        this.taskTypeName(a).localeCompare(this.taskTypeName(b))
      );
    });
    const personOrder = [...this.byPerson.keys()].sort((a, b) =>
      this.personName(a).localeCompare(this.personName(b)),
    );
    const { totals } = this;
    return {
      asOf: this.options.asOf.toISOString(),
      scope,
      weeks: this.options.weeks,
      totals: {
        tasks: totals.tasks,
        done: totals.done,
        open: totals.openTasks,
        late: this.late.total,
        retakes: totals.retakes,
        withoutEstimate: totals.withoutEstimate,
        withoutDueDate: this.withoutDueDate,
        unassignedOpen: this.unassigned.openTasks,
        unassignedRemaining: minutes(this.unassigned.remaining),
      },
      byTypeAndStatus: typeOrder.flatMap((typeId) => {
        const type = this.byType.get(typeId) ?? emptySums();
        const statuses = [...(this.byTypeStatus.get(typeId) ?? new Map<string, number>())];
        return statuses
          .map(([statusId, count]) => ({ ...this.status(statusId), count }))
          .sort((a, b) => Number(a.done) - Number(b.done) || a.name.localeCompare(b.name))
          .map(({ name, done, count }) => ({
            taskType: this.taskTypeName(typeId),
            status: name,
            done,
            count,
            share: round(count / type.tasks, 4),
          }));
      }),
      byTaskType: typeOrder.map((typeId) => {
        const type = this.byType.get(typeId) ?? emptySums();
        return {
          taskType: this.taskTypeName(typeId),
          tasks: type.tasks,
          done: type.done,
          doneShare: round(type.done / type.tasks, 4),
          retakes: type.retakes,
          estimate: minutes(type.estimate),
          spent: minutes(type.spent),
          ratio: ratioOf(type),
          withoutEstimate: type.withoutEstimate,
        };
      }),
      byPerson: personOrder.map((personId) => {
        const person = this.byPerson.get(personId) ?? emptySums();
        return {
          personId,
          person: this.personName(personId),
          active: this.lookups.persons.get(personId)?.active ?? false,
          tasks: person.tasks,
          openTasks: person.openTasks,
          remainingEstimate: minutes(person.remaining),
          retakes: person.retakes,
          estimate: minutes(person.estimate),
          spent: minutes(person.spent),
          ratio: ratioOf(person),
        };
      }),
      late: { total: this.late.total, shown: this.late.list().map(named) },
      overBudget: { total: this.over.total, shown: this.over.list().map(named) },
      throughput: this.weekStarts.map((week) => ({ week, done: this.done.get(week) ?? 0 })),
      timeSpent: this.weekStarts.flatMap((week) =>
        [...(this.spentByWeek.get(week) ?? new Map<string, number>())]
          .map(([personId, total]) => ({
            week,
            personId,
            person: this.personName(personId),
            minutes: minutes(total),
          }))
          .sort((a, b) => a.person.localeCompare(b.person)),
      ),
    };
  }
}
