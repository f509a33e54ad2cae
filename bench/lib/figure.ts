import type { Goal, Measured } from './types.ts';

/** A ratio goal and its text for the table, written once so the two cannot drift apart. */
export function ratioGoal(op: Goal['op'], target: number): { goalText: string; goal: Goal } {
  return { goalText: `ratio ${op} ${target}`, goal: { op, target } };
}

/** The head of a measured outcome: ours, the baseline, and their ratio (always ours / baseline). */
export function measured(
  value: number,
  baseline: number,
  unit: string,
): Pick<Measured, 'status' | 'value' | 'baseline' | 'unit' | 'ratio'> {
  return { status: 'measured', value, baseline, unit, ratio: value / baseline };
}
