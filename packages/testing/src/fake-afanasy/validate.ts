// The real afserver does not validate types: `"frame_first": "1"` silently becomes frame 0 and some invalid
// jobs crash it. The fake refuses instead, answering `{"error": "<why>"}`, so a client that would send such
// a job fails its tests rather than a production farm.

import type { FakeAfanasyBlock } from './model.ts';

export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export class AfanasyRefusal extends Error {
  override name = 'AfanasyRefusal';
}

export interface ValidAfanasyJob {
  name: string;
  user_name: string;
  host_name: string;
  priority: number;
  branch: string;
  custom_data: string;
  offline: boolean;
  blocks: Omit<FakeAfanasyBlock, 'tasks'>[];
  /** Tasks per block. */
  tasksNum: number[];
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

class Reader {
  constructor(
    private readonly object: Record<string, unknown>,
    private readonly where: string,
  ) {}

  #fail(key: string, expected: string): never {
    throw new AfanasyRefusal(
      `${this.where} "${key}": expected ${expected}, got ${typeName(this.object[key])}`,
    );
  }

  string(key: string, options: { required?: boolean; nonEmpty?: boolean } = {}): string {
    const value = this.object[key];
    if (value === undefined && options.required !== true) return '';
    if (typeof value !== 'string') this.#fail(key, 'a string');
    if (options.nonEmpty === true && value.trim() === '') this.#fail(key, 'a non-empty string');
    return value;
  }

  int(key: string, fallback: number, range: { min?: number; max?: number } = {}): number {
    const value = this.object[key];
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isInteger(value)) this.#fail(key, 'an integer');
    const { min = -Infinity, max = Infinity } = range;
    if (value < min || value > max) {
      throw new AfanasyRefusal(
        `${this.where} "${key}": ${String(value)} is out of range ${String(range.min ?? '')}..${String(range.max ?? '')}`,
      );
    }
    return value;
  }

  requiredInt(key: string, range: { min?: number; max?: number } = {}): number {
    if (this.object[key] === undefined) this.#fail(key, 'an integer');
    return this.int(key, 0, range);
  }

  bool(key: string): boolean {
    const value = this.object[key];
    if (value === undefined) return false;
    if (typeof value !== 'boolean') this.#fail(key, 'a boolean');
    return value;
  }
}

const JOB_STRINGS = [
  'description',
  'hosts_mask',
  'hosts_mask_exclude',
  'depend_mask',
  'depend_mask_global',
  'need_os',
  'need_properties',
  'command_pre',
  'command_post',
  'project',
  'department',
];
const JOB_INTS = ['max_running_tasks', 'max_running_tasks_per_host', 'time_life', 'time_wait'];
const BLOCK_STRINGS = [
  'tasks_name',
  'depend_mask',
  'tasks_depend_mask',
  'hosts_mask',
  'hosts_mask_exclude',
  'need_properties',
  'command_pre',
  'command_post',
];
const BLOCK_INTS = [
  'max_running_tasks',
  'max_running_tasks_per_host',
  'need_memory',
  'need_power',
  'need_hdd',
  'errors_retries',
  'errors_avoid_host',
  'errors_task_same_host',
  'errors_forgive_time',
  'tasks_max_run_time',
  'parser_coeff',
];

/** Validates the `job` object of a submit message; throws AfanasyRefusal with the reason. */
export function validateJob(job: unknown): ValidAfanasyJob {
  if (!isRecord(job)) throw new AfanasyRefusal(`"job": expected an object, got ${typeName(job)}`);
  const where = `job${typeof job['name'] === 'string' ? ` "${job['name']}"` : ''}`;
  const read = new Reader(job, where);
  const name = read.string('name', { required: true, nonEmpty: true });
  const user_name = read.string('user_name', { required: true, nonEmpty: true });
  const host_name = read.string('host_name');
  const priority = read.int('priority', 99, { min: 0, max: 250 });
  const branch = read.string('branch');
  const custom_data = read.string('custom_data');
  const offline = read.bool('offline');
  for (const key of JOB_STRINGS) read.string(key);
  for (const key of JOB_INTS) read.int(key, 0);

  const blocks = job['blocks'];
  if (!Array.isArray(blocks) || blocks.length === 0) {
    throw new AfanasyRefusal(`${where}: a job needs at least one block in "blocks"`);
  }
  const valid: ValidAfanasyJob['blocks'] = [];
  const tasksNum: number[] = [];
  blocks.forEach((block: unknown, index) => {
    const at = `${where} block[${String(index)}]`;
    if (!isRecord(block)) throw new AfanasyRefusal(`${at}: expected an object, got ${typeName(block)}`);
    const b = new Reader(block, at);
    const flags = b.int('flags', 0, { min: 0 });
    const numeric = (flags & 1) === 1;
    const files = block['files'];
    if (
      files !== undefined &&
      typeof files !== 'string' &&
      !(Array.isArray(files) && files.every((f) => typeof f === 'string'))
    ) {
      throw new AfanasyRefusal(
        `${at} "files": expected a string or an array of strings, got ${typeName(files)}`,
      );
    }
    for (const key of BLOCK_STRINGS) b.string(key);
    for (const key of BLOCK_INTS) b.int(key, 0);
    const row = {
      name: b.string('name', { required: true, nonEmpty: true }),
      service: b.string('service', { required: true, nonEmpty: true }),
      parser: b.string('parser'),
      flags,
      numeric,
      capacity: b.int('capacity', 1000, { min: 1 }),
      frame_first: 0,
      frame_last: 0,
      frames_per_task: 1,
      frames_inc: 1,
      command: b.string('command', { required: numeric, nonEmpty: numeric }),
      working_directory: b.string('working_directory'),
      files: Array.isArray(files) ? files.join(';') : (files ?? ''),
    };
    if (numeric) {
      row.frame_first = b.requiredInt('frame_first');
      row.frame_last = b.requiredInt('frame_last');
      row.frames_per_task = b.requiredInt('frames_per_task', { min: 1 });
      row.frames_inc = b.int('frames_inc', 1, { min: 1 });
      if (row.frame_first > row.frame_last) {
        throw new AfanasyRefusal(
          `${at}: "frame_first" ${String(row.frame_first)} is after "frame_last" ${String(row.frame_last)}`,
        );
      }
      const frames = Math.floor((row.frame_last - row.frame_first) / row.frames_inc) + 1;
      tasksNum.push(Math.ceil(frames / row.frames_per_task));
    } else {
      const tasks = block['tasks'];
      if (!Array.isArray(tasks) || tasks.length === 0) {
        throw new AfanasyRefusal(`${at}: a block that is not numeric (flags & 1) needs "tasks"`);
      }
      tasks.forEach((task: unknown, t) => {
        if (!isRecord(task)) throw new AfanasyRefusal(`${at} task[${String(t)}]: expected an object`);
        const tr = new Reader(task, `${at} task[${String(t)}]`);
        tr.string('name');
        tr.string('command', { required: true });
        tr.string('files');
      });
      tasksNum.push(tasks.length);
    }
    valid.push(row);
  });
  return { name, user_name, host_name, priority, branch, custom_data, offline, blocks: valid, tasksNum };
}
