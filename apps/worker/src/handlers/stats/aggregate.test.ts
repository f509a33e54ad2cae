import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { TaskFigures } from '@kitsu-actions/zou';
import { StatsAggregator } from './aggregate.ts';

const asOf = new Date('2026-11-25T12:00:00Z');
const type = randomUUID();
const open = randomUUID();
const lookups = {
  taskTypes: new Map([[type, { name: 'Animation' }]]),
  statuses: new Map([[open, { name: 'Work In Progress', done: false }]]),
  persons: new Map<string, { name: string; active: boolean }>(),
};

/** An open task due `daysLate` days before asOf, spending `spent` minutes of an estimate of 100. */
function task(daysLate: number, spent: number): TaskFigures {
  return {
    id: randomUUID(),
    project_id: randomUUID(),
    entity_id: randomUUID(),
    task_type_id: type,
    task_status_id: open,
    assignees: [],
    estimation: 100,
    duration: spent,
    retake_count: 0,
    due_date: new Date(asOf.getTime() - daysLate * 86_400_000 - 3_600_000).toISOString().slice(0, 19),
    end_date: null,
    done_date: null,
  };
}

/** The same tasks in an order of their own (a fixed shuffle: each page comes in any order). */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const copy = [...items];
  let state = seed;
  for (let index = copy.length - 1; index > 0; index -= 1) {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    const other = state % (index + 1);
    [copy[index], copy[other]] = [copy[other] as T, copy[index] as T];
  }
  return copy;
}

describe('the late and over-budget lists of many tasks', () => {
  it('show the worst listLimit of each, in order, and count every one, in whatever order the pages come', () => {
    // 500 late tasks, 1 to 500 days late, each over its estimate by as many minutes.
    const tasks = Array.from({ length: 500 }, (_, index) => task(index + 1, 100 + index + 1));
    for (const seed of [1, 2, 3]) {
      const aggregator = new StatsAggregator(lookups, { weeks: 4, listLimit: 7, asOf });
      const order = shuffled(tasks, seed);
      for (let start = 0; start < order.length; start += 100) aggregator.add(order.slice(start, start + 100));
      const report = aggregator.report({ kind: 'production', projectId: randomUUID(), project: 'Big Show' });
      expect(report.late.total).toBe(500);
      expect(report.late.shown.map((entry) => entry.daysLate)).toEqual([500, 499, 498, 497, 496, 495, 494]);
      expect(report.overBudget.total).toBe(500);
      expect(report.overBudget.shown.map((entry) => entry.spent)).toEqual([
        600, 599, 598, 597, 596, 595, 594,
      ]);
      // Each entry is the task's own: its id, entity and status alongside its figures.
      const worst = tasks[499];
      expect(report.late.shown[0]).toMatchObject({
        taskId: worst?.id,
        entity: worst?.entity_id,
        status: 'Work In Progress',
        taskType: 'Animation',
        assignees: [],
      });
    }
  });
});
