import { crc32, deflateSync } from 'node:zlib';
import type { PreviewFileRow, TaskRow, TimeSpentRow } from '../fake-zou/model.ts';
import { buildSeed, seedPassword } from '../fake-zou/seed.ts';
import type { HumanKey, Seed, SeedIds } from '../fake-zou/seed.ts';

/*
 * The fake Zou's production (described at the top of ../fake-zou/seed.ts) built in a real Zou through its
 * HTTP API only, so one contract suite runs against both. It replays the rows of the fake's own
 * `buildSeed`: people, projects, episodes, sequences, shots (nb_frames, data.frame_in/frame_out/fps), assets,
 * tasks (status, estimation, duration, retake count, dates, assignees), previews and time spents are the
 * same by construction; only the ids are Zou's. Each preview is a real PNG, on a comment of its own.
 *
 * Needs a fresh database (`zou reset-db && zou init-data && zou create-admin ...`): emails are unique.
 * Where Zou decides for itself (ids, created_at/updated_at, who created an entity, picture previews), the
 * two productions differ: see the notes beside each step.
 */

export interface RealZouSeed {
  ids: SeedIds;
  logins: Record<HumanKey, { email: string; password: string }>;
  /** The bot's token: no expiration date, so it never expires. */
  botToken: string;
}

export interface RealZouSeedOptions {
  /** Zou's root (routes at `/auth/login`, `/data/...`, no `/api`). */
  url: string;
  /** A studio admin, e.g. the one `zou create-admin` made. */
  admin: { email: string; password: string };
  /** Adds "Big Show" with this many tasks, as the fake does. */
  bigProject?: { tasks: number };
}

/** Requests in flight at once, for Zou's gunicorn workers and PostgreSQL to share. */
const CONCURRENCY = 8;

export async function seedRealZou(options: RealZouSeedOptions): Promise<RealZouSeed> {
  const url = options.url.replace(/\/+$/, '');
  const fake = buildSeed(options.bigProject === undefined ? {} : { bigProject: options.bigProject });
  const admin: Session = { url, token: await login(url, options.admin) };
  await checkFreshDatabase(admin, fake);
  const ids = new IdMap();

  await linkStudioSettings(admin, fake, ids);
  const botToken = await createPersons(admin, fake, ids);
  await createProjects(admin, fake, ids);
  await createEntities(admin, fake, ids);
  await inParallel(fake.rows.tasks, (task) => createTask(admin, task, ids));
  await inParallel(tasksWithPreviews(fake), ({ task, previews }) => addPreviews(admin, task, previews, ids));
  await inParallel(fake.rows.timeSpents, (row) => addTimeSpent(admin, row, ids));
  await checkTasks(admin, fake, ids);

  return { ids: ids.remap(fake.ids), logins: fake.logins, botToken };
}

/** Entity types Zou makes for itself (`entity_types_service`) that the fake does not have. */
const ZOU_ONLY_ENTITY_TYPES = ['Scene', 'Concept', 'ConceptFolder'];

// --- Studio-wide rows: `zou init-data` made most of them, reuse those and align them on the fake.

async function linkStudioSettings(admin: Session, fake: Seed, ids: IdMap): Promise<void> {
  const [entityTypes, taskTypes, taskStatuses, projectStatuses] = (await Promise.all(
    ['/data/entity-types', '/data/task-types', '/data/task-status', '/data/project-status'].map(
      async (route) => rowsOf(await call(admin, 'GET', route), `GET ${route}`),
    ),
  )) as [ZouRow[], ZouRow[], ZouRow[], ZouRow[]];

  // init-data makes only the asset types. Zou makes the others on first use, and concurrent first uses
  // race (400 "A record with the same unique values already exists"): make them all now, Zou's own
  // Scene, Concept and ConceptFolder included.
  const names = [...fake.rows.entityTypes.map((t) => t.name), ...ZOU_ONLY_ENTITY_TYPES];
  for (const name of names) {
    const found = entityTypes.find((t) => t['name'] === name);
    const id = found?.id ?? idOf(await call(admin, 'POST', '/data/entity-types', { name }));
    const row = fake.rows.entityTypes.find((t) => t.name === name);
    if (row !== undefined) ids.link(row.id, id);
  }

  const open = projectStatuses.find((s) => s['name'] === 'Open');
  ids.link(
    fake.ids.projectStatusOpen,
    open?.id ?? idOf(await call(admin, 'POST', '/data/project-status', { name: 'Open', color: '#000000' })),
  );

  // init-data's task types have no short name, other priorities and colours, and a department each: the
  // fake's values win (its status cycle is computed from the priorities).
  await inParallel(fake.rows.taskTypes, async (row) => {
    const wanted = {
      name: row.name,
      short_name: row.short_name,
      color: row.color,
      priority: row.priority,
      for_entity: row.for_entity,
      allow_timelog: row.allow_timelog,
      department_id: row.department_id,
    };
    const found = taskTypes.find((t) => t['name'] === row.name && t['for_entity'] === row.for_entity);
    await alignRow(admin, ids, row.id, '/data/task-types', wanted, found);
  });

  // init-data's statuses let artists and clients set every status; the fake's do not.
  await inParallel(fake.rows.taskStatuses, async (row) => {
    const wanted = {
      name: row.name,
      short_name: row.short_name,
      color: row.color,
      is_done: row.is_done,
      is_artist_allowed: row.is_artist_allowed,
      is_client_allowed: row.is_client_allowed,
      is_retake: row.is_retake,
      is_feedback_request: row.is_feedback_request,
      is_default: row.is_default,
      is_wip: row.is_wip,
    };
    const found = taskStatuses.find((s) => s['short_name'] === row.short_name && s['for_concept'] !== true);
    await alignRow(admin, ids, row.id, '/data/task-status', wanted, found);
  });
}

// --- People: humans get the seed password, the bot gets its token in the 201.

async function createPersons(admin: Session, fake: Seed, ids: IdMap): Promise<string> {
  const tokens: string[] = [];
  await inParallel(fake.rows.persons, async (row) => {
    const answer = await call(admin, 'POST', '/data/persons', {
      first_name: row.first_name,
      last_name: row.last_name,
      role: row.role,
      desktop_login: row.desktop_login,
      timezone: row.timezone,
      locale: row.locale,
      ...(row.email === null ? {} : { email: row.email }),
      ...(row.is_bot ? { is_bot: true } : { password: seedPassword }),
    });
    ids.link(row.id, idOf(answer));
    if (row.is_bot) tokens.push(stringField(answer, 'access_token', 'POST /data/persons (a bot)'));
  });
  const [botToken] = tokens;
  if (botToken === undefined || tokens.length > 1) throw new Error('the fake seed needs exactly one bot');
  return botToken;
}

// --- Projects, their settings (task types, statuses, asset types) and teams.

async function createProjects(admin: Session, fake: Seed, ids: IdMap): Promise<void> {
  await inParallel(fake.rows.projects, async (row) => {
    const answer = await call(admin, 'POST', '/data/projects', {
      name: row.name,
      code: row.code,
      description: row.description,
      fps: row.fps,
      ratio: row.ratio,
      resolution: row.resolution,
      production_type: row.production_type,
      production_style: row.production_style,
      project_status_id: ids.real(row.project_status_id),
      start_date: row.start_date,
      end_date: row.end_date,
      max_retakes: row.max_retakes,
      is_clients_isolated: row.is_clients_isolated,
    });
    const projectId = idOf(answer);
    ids.link(row.id, projectId);
    // Zou gives every new tvshow its first episode, E01: it stands for the fake's E01.
    const firstEpisode = isObject(answer) ? answer['first_episode_id'] : undefined;
    if (typeof firstEpisode === 'string') {
      const e01 = fake.rows.entities.find(
        (e) => e.project_id === row.id && e.type === 'Episode' && e.name === 'E01',
      );
      if (e01 === undefined) throw new Error(`Zou made an episode E01 that ${row.name} does not have`);
      ids.link(e01.id, firstEpisode);
      // Zou's E01 has the description "", the fake's none.
      await call(admin, 'PUT', `/data/entities/${firstEpisode}`, { description: e01.description });
    }
    await call(admin, 'POST', `/data/projects/${projectId}/settings/batch`, {
      task_types: row.task_types.map((id) => ({ task_type_id: ids.real(id) })),
      task_status_ids: row.task_statuses.map((id) => ids.real(id)),
      asset_type_ids: row.asset_types.map((id) => ids.real(id)),
    });
  });
  const members = fake.rows.projects.flatMap((project) =>
    project.team.map((personId) => ({ project, personId })),
  );
  await inParallel(members, async ({ project, personId }) => {
    await call(admin, 'POST', `/data/projects/${ids.real(project.id)}/team`, {
      person_id: ids.real(personId),
    });
  });
}

// --- Episodes, sequences, shots and assets, parents first.

async function createEntities(admin: Session, fake: Seed, ids: IdMap): Promise<void> {
  let pending = fake.rows.entities.filter((e) => !ids.has(e.id));
  while (pending.length > 0) {
    const ready = pending.filter((e) => e.parent_id === null || ids.has(e.parent_id));
    if (ready.length === 0) throw new Error(`the fake seed has entities whose parent is missing`);
    await inParallel(ready, async (row) => {
      const answer = await call(admin, 'POST', '/data/entities', {
        name: row.name,
        project_id: ids.real(row.project_id),
        entity_type_id: ids.real(row.entity_type_id),
        parent_id: row.parent_id === null ? null : ids.real(row.parent_id),
        description: row.description,
        nb_frames: row.nb_frames,
        data: row.data,
        status: row.status,
      });
      ids.link(row.id, idOf(answer));
    });
    pending = pending.filter((e) => !ids.has(e.id));
  }
}

// --- Tasks: POST /data/tasks takes the status, the estimation and the dates as they are (the route
// Kitsu uses, /actions/.../create-tasks, would start every task at the default status).

async function createTask(admin: Session, task: TaskRow, ids: IdMap): Promise<void> {
  const answer = await call(admin, 'POST', '/data/tasks', {
    name: task.name,
    description: task.description,
    priority: task.priority,
    difficulty: task.difficulty,
    estimation: task.estimation,
    duration: task.duration,
    retake_count: task.retake_count,
    start_date: task.start_date,
    due_date: task.due_date,
    real_start_date: task.real_start_date,
    end_date: task.end_date,
    done_date: task.done_date,
    // A task with previews gets its last comment date from their comments (the fake dates it like its
    // last preview): a later date here would make Zou replay the comment history onto the task instead.
    last_comment_date: task.last_preview_file_id === null ? task.last_comment_date : null,
    project_id: ids.real(task.project_id),
    entity_id: ids.real(task.entity_id),
    task_type_id: ids.real(task.task_type_id),
    task_status_id: ids.real(task.task_status_id),
    assigner_id: task.assigner_id === null ? null : ids.real(task.assigner_id),
    assignees: task.assignees.map((id) => ids.real(id)),
  });
  ids.link(task.id, idOf(answer));
}

// --- Previews: one comment by the assignee per revision, dated like the fake's preview (after the task's
// other comments, so Zou keeps the task's status), with a PNG; Zou makes it the task's last preview. The
// fake's shot previews are movies (mp4): these are all pictures, 64x36 (Zou makes four variants of each
// upload, and a small one keeps that quick).

function tasksWithPreviews(fake: Seed): { task: TaskRow; previews: PreviewFileRow[] }[] {
  return fake.rows.tasks
    .map((task) => ({
      task,
      previews: fake.rows.previewFiles
        .filter((p) => p.task_id === task.id)
        .sort((a, b) => a.revision - b.revision),
    }))
    .filter(({ previews }) => previews.length > 0);
}

async function addPreviews(
  admin: Session,
  task: TaskRow,
  previews: PreviewFileRow[],
  ids: IdMap,
): Promise<void> {
  const taskId = ids.real(task.id);
  for (const preview of previews) {
    // batch-comment does the work of /comment, /add-preview and /pictures/preview-files/<id> in one
    // request instead of three, and the preview's author is the comment's (add-preview takes the caller).
    const form = new FormData();
    const comment = {
      task_status_id: ids.real(task.task_status_id),
      text: preview.original_name,
      person_id: preview.person_id === null ? '' : ids.real(preview.person_id),
      created_at: preview.created_at.replace('T', ' '),
    };
    form.append('comments', JSON.stringify([comment]));
    form.append(
      'preview_file-0',
      new Blob([PREVIEW_PNG], { type: 'image/png' }),
      `${preview.original_name}.png`,
    );
    const route = `/actions/tasks/${taskId}/batch-comment`;
    const [created] = rowsOf(await call(admin, 'POST', route, form), `POST ${route}`);
    const files = created?.['preview_files'];
    if (!Array.isArray(files) || files.length !== 1) {
      throw new Error(`Zou answered POST ${route} without one comment and its preview`);
    }
    const previewId = idOf(files[0]);
    ids.link(preview.id, previewId);
    // Zou starts every preview "neutral", and makes the admin the author of a comment with no person.
    if (preview.validation_status !== 'neutral' || preview.person_id === null) {
      await call(admin, 'PUT', `/data/preview-files/${previewId}`, {
        validation_status: preview.validation_status,
        person_id: preview.person_id === null ? null : ids.real(preview.person_id),
      });
    }
  }
}

// --- Time spents: the fake's (two days on each started SH010 and Mei task, adding up to its duration, as
// Zou sets a task's duration to the sum of its time spents).

async function addTimeSpent(admin: Session, row: TimeSpentRow, ids: IdMap): Promise<void> {
  const route = `/actions/tasks/${ids.real(row.task_id)}/time-spents/${row.date}/persons/${ids.real(row.person_id)}`;
  ids.link(row.id, idOf(await call(admin, 'POST', route, { duration: row.duration })));
}

// --- A last look: what the contract tests lean on most came out as the fake has it.

async function checkTasks(admin: Session, fake: Seed, ids: IdMap): Promise<void> {
  await inParallel(fake.rows.projects, async (project) => {
    const route = `/data/tasks?project_id=${ids.real(project.id)}`;
    const rows = rowsOf(await call(admin, 'GET', route), `GET ${route}`);
    const byId = new Map(rows.map((row) => [row.id, row]));
    for (const task of fake.rows.tasks.filter((t) => t.project_id === project.id)) {
      const real = byId.get(ids.real(task.id));
      const expected = {
        task_status_id: ids.real(task.task_status_id),
        duration: task.duration,
        retake_count: task.retake_count,
        real_start_date: task.real_start_date,
        end_date: task.end_date,
        done_date: task.done_date,
        last_comment_date: task.last_comment_date,
        last_preview_file_id: task.last_preview_file_id === null ? null : ids.real(task.last_preview_file_id),
      };
      const wrong = real === undefined ? expected : differing(expected, real);
      if (wrong !== null) {
        throw new Error(
          `Zou at ${admin.url} holds task ${ids.real(task.id)} (${project.name}) with other values than ` +
            `the fake's: expected ${JSON.stringify(wrong)}`,
        );
      }
    }
  });
}

async function checkFreshDatabase(admin: Session, fake: Seed): Promise<void> {
  const projects = rowsOf(await call(admin, 'GET', '/data/projects'), 'GET /data/projects');
  const taken = projects.filter((p) => fake.rows.projects.some((row) => row.name === p['name']));
  if (taken.length > 0) {
    throw new Error(
      `Zou at ${admin.url} already has the project ${String(taken[0]?.['name'])}: seedRealZou needs a fresh ` +
        'database (zou reset-db, zou init-data, zou create-admin)',
    );
  }
}

// --- HTTP: one helper, errors name the method, the route, the status and Zou's message.

interface Session {
  url: string;
  token: string;
}

type ZouRow = Record<string, unknown> & { id: string };

async function login(url: string, credentials: { email: string; password: string }): Promise<string> {
  const answer = await call({ url, token: null }, 'POST', '/auth/login', credentials);
  return stringField(answer, 'access_token', `POST /auth/login as ${credentials.email}`);
}

async function call(
  session: Session | { url: string; token: null },
  method: 'GET' | 'POST' | 'PUT',
  route: string,
  body?: unknown,
): Promise<unknown> {
  // gunicorn drops a keep-alive connection after 2 s idle, and a POST sent on it just then fails with
  // "other side closed" (fetch retries only idempotent requests): one connection per request.
  const headers: Record<string, string> = { connection: 'close' };
  if (session.token !== null) headers['authorization'] = `Bearer ${session.token}`;
  let payload: FormData | string | undefined;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) {
    headers['content-type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  const res = await fetch(`${session.url}${route}`, {
    method,
    headers,
    ...(payload === undefined ? {} : { body: payload }),
  });
  const text = await res.text();
  const json = parseJson(text);
  const what = `Zou at ${session.url} answered ${method} ${route} with ${String(res.status)}`;
  if (!res.ok) {
    const message =
      isObject(json) && typeof json['message'] === 'string' ? json['message'] : text.slice(0, 300);
    throw new Error(`${what}: ${message}`);
  }
  if (json === undefined) throw new Error(`${what} and a body that is not JSON: ${text.slice(0, 300)}`);
  return json;
}

/** The JSON in `text`, or undefined when it holds none (an nginx error page, an empty body). */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function idOf(answer: unknown): string {
  return stringField(answer, 'id', 'a creation');
}

function stringField(answer: unknown, field: string, what: string): string {
  const value = isObject(answer) ? answer[field] : undefined;
  if (typeof value !== 'string') throw new Error(`Zou answered ${what} without a string "${field}"`);
  return value;
}

function rowsOf(answer: unknown, what: string): ZouRow[] {
  if (!Array.isArray(answer)) throw new Error(`Zou answered ${what} without a list`);
  return answer.map((row: unknown) => {
    if (!isObject(row) || typeof row['id'] !== 'string') {
      throw new Error(`Zou answered ${what} with a row without an id`);
    }
    return row as ZouRow;
  });
}

/** The fields of `wanted` whose value differs from `current`, or null when none does. */
/** Links the fake's row to Zou's `found`, updated where it differs from `wanted`, or else to a new row. */
async function alignRow(
  admin: Session,
  ids: IdMap,
  fakeId: string,
  route: string,
  wanted: Record<string, unknown>,
  found: ZouRow | undefined,
): Promise<void> {
  if (found === undefined) {
    ids.link(fakeId, idOf(await call(admin, 'POST', route, wanted)));
    return;
  }
  ids.link(fakeId, found.id);
  const changes = differing(wanted, found);
  if (changes !== null) await call(admin, 'PUT', `${route}/${found.id}`, changes);
}

function differing<T extends Record<string, unknown>>(
  wanted: T,
  current: Record<string, unknown>,
): Partial<T> | null {
  const changes = Object.fromEntries(Object.entries(wanted).filter(([key, value]) => current[key] !== value));
  return Object.keys(changes).length === 0 ? null : (changes as Partial<T>);
}

/** Runs `work` on every item, CONCURRENCY at a time, and stops taking new items after a failure. */
async function inParallel<T>(items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const item = items[next] as T;
      next += 1;
      try {
        await work(item);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, items.length) }, worker));
}

/** The fake's ids, each with the id Zou gave the same row. */
class IdMap {
  readonly #real = new Map<string, string>();

  link(fakeId: string, realId: string): void {
    this.#real.set(fakeId, realId);
  }

  has(fakeId: string): boolean {
    return this.#real.has(fakeId);
  }

  real(fakeId: string): string {
    const id = this.#real.get(fakeId);
    if (id === undefined) throw new Error(`no Zou id for the fake's row ${fakeId}`);
    return id;
  }

  /** The same structure with every id replaced (null stays null). */
  remap<T>(value: T): T {
    // The casts rebuild T from its own parts: strings for strings, arrays and objects of the same shape.
    if (typeof value === 'string') return this.real(value) as T;
    if (Array.isArray(value)) return value.map((item: unknown) => this.remap(item)) as T;
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, this.remap(item)])) as T;
    }
    return value;
  }
}

// --- A valid PNG made in memory (one colour, RGB, 8 bits), so no picture file ships with the tests.

const PREVIEW_PNG = solidPng(64, 36, [0xe0, 0x6c, 0x3c]);

function solidPng(width: number, height: number, rgb: [number, number, number]): Buffer {
  const row = Buffer.alloc(1 + width * 3);
  for (let x = 0; x < width; x += 1) row.set(rgb, 1 + x * 3);
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8);
  const chunk = (type: string, data: Buffer): Buffer => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const framed = Buffer.alloc(body.length + 8);
    framed.writeUInt32BE(data.length, 0);
    body.copy(framed, 4);
    framed.writeUInt32BE(crc32(body), body.length + 4);
    return framed;
  };
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.concat(Array.from({ length: height }, () => row)))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
