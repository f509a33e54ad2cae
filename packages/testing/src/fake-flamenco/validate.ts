import { JOB_STATUSES, PLATFORMS } from './model.ts';
import type { FlamencoJobStatus } from './model.ts';

/** An answer the Manager would send instead of accepting a request. */
export interface Refusal {
  status: number;
  body: Record<string, unknown>;
}

/** A job that passed the OpenAPI schema and the job type's compiler. */
export interface ValidJob {
  name: string;
  type: string;
  priority: number;
  submitter_platform: string;
  settings: Record<string, unknown>;
  metadata: Record<string, string>;
  type_etag?: string;
  worker_tag?: string;
  initial_status: 'queued' | 'paused';
  /** Frame chunks of the render tasks, e.g. `['1-10', '11-20']`. */
  chunks: string[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * What the OpenAPI request validator in front of the Manager answers: 400 with `{ message }` alone (echo's
 * HTTPError), worded like kin-openapi.
 */
export function schemaError(schema: string, pointer: string, problem: string): Refusal {
  return {
    status: 400,
    body: {
      message: `request body has an error: doesn't match schema #/components/schemas/${schema}: Error at "${pointer}": ${problem}`,
    },
  };
}

/** What the Manager's own handlers answer (`sendAPIError`): `{ code, message }`. */
export function apiError(status: number, message: string): Refusal {
  return { status, body: { code: status, message } };
}

/** Parses Flamenco's frame syntax (`1-250`, `1,3,5-9`) into frame numbers; null when unreadable. */
export function parseFrames(spec: string): number[] | null {
  const frames: number[] = [];
  for (const part of spec.split(',')) {
    const match = /^\s*(-?\d+)\s*(?:-\s*(-?\d+)\s*)?$/.exec(part);
    if (match?.[1] === undefined) return null;
    const first = Number(match[1]);
    const last = match[2] === undefined ? first : Number(match[2]);
    if (last < first || last - first > 1_000_000) return null;
    for (let frame = first; frame <= last; frame += 1) frames.push(frame);
  }
  return frames.length === 0 ? null : frames;
}

/** Consecutive frames grouped by `chunkSize`, written like Flamenco's frameChunker (`1-10`, `11`). */
export function chunkFrames(frames: number[], chunkSize: number): string[] {
  const chunks: string[] = [];
  for (let i = 0; i < frames.length; i += chunkSize) {
    const slice = frames.slice(i, i + chunkSize);
    const first = slice[0];
    const last = slice[slice.length - 1];
    if (first === undefined || last === undefined) continue;
    const contiguous = last - first === slice.length - 1;
    chunks.push(
      first === last ? String(first) : contiguous ? `${String(first)}-${String(last)}` : slice.join(','),
    );
  }
  return chunks;
}

const SUBMITTED_JOB_STRINGS = ['name', 'type', 'submitter_platform'] as const;

/**
 * Validates a `SubmittedJob` like the Manager: first the OpenAPI schema (400 `{ message }`), then the job
 * type (unknown type: 400 `{ code, message }`), its etag (412) and its compiler (400 `{ code, message }`).
 */
export function validateSubmittedJob(
  body: unknown,
  jobTypes: Map<string, { etag: string }>,
): ValidJob | Refusal {
  const schema = 'SubmittedJob';
  if (!isRecord(body)) return schemaError(schema, '', 'value must be an object');
  for (const field of [...SUBMITTED_JOB_STRINGS, 'priority'] as const) {
    if (!(field in body)) return schemaError(schema, `/${field}`, `property "${field}" is missing`);
  }
  for (const field of SUBMITTED_JOB_STRINGS) {
    if (typeof body[field] !== 'string') return schemaError(schema, `/${field}`, 'value must be a string');
  }
  const name = body['name'] as string;
  const type = body['type'] as string;
  const platform = body['submitter_platform'] as string;
  const priority = body['priority'];
  if (typeof priority !== 'number' || !Number.isInteger(priority)) {
    return schemaError(schema, '/priority', 'value must be an integer');
  }
  // The real Manager also accepts "manager" (replaced by its own OS); anything else is refused here so that
  // an adapter sending a wrong platform is caught in tests.
  if (!(PLATFORMS as readonly string[]).includes(platform) && platform !== 'manager') {
    return schemaError(
      schema,
      '/submitter_platform',
      `value is not one of the allowed values ${JSON.stringify([...PLATFORMS, 'manager'])}`,
    );
  }
  const settings = body['settings'] ?? {};
  if (!isRecord(settings)) return schemaError(schema, '/settings', 'value must be an object');
  const metadata = body['metadata'] ?? {};
  if (!isRecord(metadata)) return schemaError(schema, '/metadata', 'value must be an object');
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string') return schemaError(schema, `/metadata/${key}`, 'value must be a string');
  }
  const etag = body['type_etag'];
  if (etag !== undefined && typeof etag !== 'string') {
    return schemaError(schema, '/type_etag', 'value must be a string');
  }
  const workerTag = body['worker_tag'];
  if (workerTag !== undefined && (typeof workerTag !== 'string' || !isUuid(workerTag))) {
    return schemaError(schema, '/worker_tag', 'string doesn\'t match the format "uuid"');
  }
  const initial = body['initial_status'] ?? 'queued';
  if (initial !== 'queued' && initial !== 'paused') {
    return schemaError(
      schema,
      '/initial_status',
      'value is not one of the allowed values ["queued","paused"]',
    );
  }

  const jobType = jobTypes.get(type);
  if (jobType === undefined) return apiError(400, 'job type unknown');
  if (etag !== undefined && etag !== '' && etag !== jobType.etag) {
    return apiError(412, 'rejecting job because its settings are outdated, refresh the job type');
  }
  const compiled = compileJobType(type, settings);
  if ('status' in compiled) return compiled;
  return {
    name,
    type,
    priority,
    submitter_platform: platform,
    settings,
    metadata: metadata as Record<string, string>,
    ...(etag === undefined ? {} : { type_etag: etag }),
    ...(workerTag === undefined ? {} : { worker_tag: workerTag }),
    initial_status: initial,
    chunks: compiled.chunks,
  };
}

/** The job type compilers the fake knows (the real ones are JavaScript run by the Manager). */
function compileJobType(type: string, settings: Record<string, unknown>): { chunks: string[] } | Refusal {
  if (type === 'echo-sleep-test') return { chunks: ['1'] };
  // simple-blender-render, as its compiler script checks it.
  const outputPath = settings['render_output_path'];
  if (typeof outputPath !== 'string' || outputPath === '') {
    return apiError(400, 'no render_output_path setting!');
  }
  const blendfile = settings['blendfile'];
  if (typeof blendfile !== 'string' || blendfile === '') {
    return apiError(400, 'no blendfile setting!');
  }
  const frameSpec = settings['frames'];
  if (typeof frameSpec !== 'string') return apiError(400, 'setting "frames" must be a string like "1-250"');
  const frames = parseFrames(frameSpec);
  if (frames === null) return apiError(400, `invalid frame range "${frameSpec}"`);
  const chunkSize = settings['chunk_size'];
  if (typeof chunkSize !== 'number' || !Number.isInteger(chunkSize) || chunkSize < 1) {
    return apiError(400, 'setting "chunk_size" must be an integer of at least 1');
  }
  const typed: [string, 'string' | 'number' | 'boolean'][] = [
    ['render_output_root', 'string'],
    ['add_path_components', 'number'],
    ['fps', 'number'],
    ['format', 'string'],
    ['image_file_extension', 'string'],
    ['has_previews', 'boolean'],
    ['scene', 'string'],
  ];
  for (const [key, kind] of typed) {
    const value = settings[key];
    if (value !== undefined && typeof value !== kind) {
      return apiError(400, `setting "${key}" must be a ${kind}`);
    }
  }
  return { chunks: chunkFrames(frames, chunkSize) };
}

export function isJobStatus(value: unknown): value is FlamencoJobStatus {
  return typeof value === 'string' && (JOB_STATUSES as readonly string[]).includes(value);
}
