import { randomUUID } from 'node:crypto';
import {
  badRequest,
  forbidden,
  getOr404,
  HttpError,
  isRecord,
  isValidId,
  normalizeId,
  notFound,
  validationError,
} from './http.ts';
import type { Answer, Ctx, PublicCtx, Route } from './http.ts';
import { RELATION_FIELDS } from './model.ts';
import type {
  CommentRow,
  CustomActionRow,
  EntityKind,
  EntityRow,
  FakeZouState,
  PersonRow,
  PlaylistRow,
  PlaylistShotRow,
  TaskRow,
} from './model.ts';
import { zouTime } from './seed.ts';

// ---------------------------------------------------------------- access rules (Zou's, simplified)

const isAdmin = (user: PersonRow) => user.role === 'admin';

function onTeam(state: FakeZouState, user: PersonRow, projectId: string): boolean {
  return state.projects.get(projectId)?.team.includes(user.id) ?? false;
}

/** Only admins see every project; every other role, manager included, must be on the team. */
function canSeeProject(state: FakeZouState, user: PersonRow, projectId: string): boolean {
  return isAdmin(user) || onTeam(state, user, projectId);
}

function canSeeTask(state: FakeZouState, user: PersonRow, task: TaskRow): boolean {
  if (!canSeeProject(state, user, task.project_id)) return false;
  return user.role !== 'vendor' || task.assignees.includes(user.id);
}

/** Vendors see only entities they hold a task on (or an ancestor of one). */
function canSeeEntity(state: FakeZouState, user: PersonRow, entity: EntityRow): boolean {
  if (!canSeeProject(state, user, entity.project_id)) return false;
  if (user.role !== 'vendor') return true;
  for (const task of state.tasks.values()) {
    if (!task.assignees.includes(user.id)) continue;
    for (let e = state.entities.get(task.entity_id); e !== undefined;) {
      if (e.id === entity.id) return true;
      e = e.parent_id === null ? undefined : state.entities.get(e.parent_id);
    }
  }
  return false;
}

const isManagerOf = (state: FakeZouState, user: PersonRow, projectId: string) =>
  isAdmin(user) || (user.role === 'manager' && onTeam(state, user, projectId));

const isSupervisorOf = (state: FakeZouState, user: PersonRow, projectId: string) =>
  isManagerOf(state, user, projectId) || (user.role === 'supervisor' && onTeam(state, user, projectId));

/** Zou's check_task_action_access + check_task_status_access, in short. */
function canCommentTask(state: FakeZouState, user: PersonRow, task: TaskRow, statusId: string): boolean {
  const status = state.taskStatuses.get(statusId);
  if (status === undefined) throw notFound('Task status');
  if (isSupervisorOf(state, user, task.project_id)) return true;
  if (!onTeam(state, user, task.project_id)) return false;
  if (user.role === 'client') return status.is_client_allowed;
  if (user.role === 'user' || user.role === 'vendor') {
    return task.assignees.includes(user.id) && status.is_artist_allowed;
  }
  return false;
}

// ---------------------------------------------------------------- serialization and lists

function serialize<T extends { type: string }>(row: T, relations: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = { ...row };
  if (!relations) {
    const fields: readonly string[] =
      row.type in RELATION_FIELDS ? RELATION_FIELDS[row.type as keyof typeof RELATION_FIELDS] : [];
    for (const field of fields) delete out[field];
  }
  return structuredClone(out);
}

function boolParam(ctx: PublicCtx, name: string, fallback: boolean): boolean {
  const value = ctx.query.get(name);
  if (value === null) return fallback;
  return value.toLowerCase() === 'true';
}

function intParam(ctx: PublicCtx, name: string, fallback: number): number {
  const value = ctx.query.get(name);
  if (value === null || value === '') return fallback;
  if (!/^-?\d+$/.test(value)) throw badRequest(`${name} must be an integer.`);
  return Number(value);
}

const LIST_CONTROL_PARAMS = new Set(['page', 'limit', 'relations', 'fields']);

/**
 * Zou's BaseModelsResource.get: equality filters on columns (JSON lists for "in", case-insensitive
 * `name`), `?relations=true`, and `?page=N&limit=L` paging ordered by newest update.
 */
function listRows<T extends { id: string; type: string; updated_at: string }>(
  ctx: Ctx,
  rows: Iterable<T>,
  visible: (row: T) => boolean,
): Answer {
  let selected = [...rows].filter(visible);
  for (const [key, raw] of ctx.query.entries()) {
    if (LIST_CONTROL_PARAMS.has(key)) continue;
    const sample = selected[0] as Record<string, unknown> | undefined;
    if (sample !== undefined && !(key in sample)) continue;
    let wanted: unknown[];
    if (raw.startsWith('[')) {
      try {
        const parsed: unknown = JSON.parse(raw);
        wanted = Array.isArray(parsed) ? parsed : [parsed];
      } catch {
        throw badRequest(`Malformed list filter for field ${key}.`);
      }
    } else wanted = [raw];
    if ((key === 'id' || key.endsWith('_id')) && !wanted.every((w) => w === 'null' || isValidId(w))) {
      throw badRequest('One of the value of the filter has not the proper format');
    }
    const norm = (v: unknown) => (typeof v === 'string' && isValidId(v) ? normalizeId(v) : v);
    selected = selected.filter((row) => {
      const value = (row as Record<string, unknown>)[key];
      return wanted.some((w) => {
        if (key === 'name' && typeof value === 'string' && typeof w === 'string') {
          return value.toLowerCase() === w.toLowerCase();
        }
        if (w === 'null') return value === null;
        if (typeof value === 'boolean') return String(value) === String(w).toLowerCase();
        if (Array.isArray(value)) return value.includes(norm(w));
        return String(value) === String(norm(w));
      });
    });
  }
  const relations = boolParam(ctx, 'relations', false);
  const page = intParam(ctx, 'page', -1);
  if (page <= -1) return { status: 200, body: selected.map((row) => serialize(row, relations)) };
  const limit = intParam(ctx, 'limit', 0) || ctx.settings.pageSize;
  selected.sort(newestFirst);
  const total = selected.length;
  const offset = (page - 1) * limit;
  const data = total < offset || page < 1 ? [] : selected.slice(offset, offset + limit);
  return {
    status: 200,
    body: {
      data: data.map((row) => serialize(row, relations)),
      total,
      nb_pages: Math.ceil(total / limit),
      limit,
      offset,
      page,
    },
  };
}

function newestFirst(a: { updated_at: string; id: string }, b: { updated_at: string; id: string }): number {
  if (a.updated_at !== b.updated_at) return a.updated_at < b.updated_at ? 1 : -1;
  return a.id < b.id ? -1 : 1;
}

const ok = (body: unknown, status = 200): Answer => ({ status, body });

function nowString(ctx: PublicCtx): string {
  return zouTime(ctx.now());
}

/** Applies `fn` to each row of a list answer, paged or not. */
function mapListed(body: unknown, fn: (row: Record<string, unknown>) => Record<string, unknown>): unknown {
  if (Array.isArray(body)) return (body as Record<string, unknown>[]).map(fn);
  if (isRecord(body) && Array.isArray(body.data)) {
    return { ...body, data: (body.data as Record<string, unknown>[]).map(fn) };
  }
  return body;
}

/** Zou's Person.present_minimal: what non-admins get from the persons list (no email). */
function minimalPerson(row: Record<string, unknown>): Record<string, unknown> {
  return {
    id: row.id,
    type: 'Person',
    first_name: row.first_name,
    last_name: row.last_name,
    full_name: row.full_name,
    has_avatar: row.has_avatar,
    active: row.active,
    departments: row.departments ?? [],
    studio_id: null,
    role: row.role,
    desktop_login: row.desktop_login,
    is_bot: row.is_bot,
  };
}

// ---------------------------------------------------------------- auth

function login(ctx: PublicCtx): Answer {
  const body = isRecord(ctx.body) ? ctx.body : {};
  const errors: { field: string; message: string }[] = [];
  for (const field of ['email', 'password']) {
    if (typeof body[field] !== 'string') errors.push({ field, message: 'Field required' });
  }
  if (errors.length > 0) throw validationError(errors);
  const email = String(body.email).toLowerCase();
  const person = [...ctx.state.persons.values()].find(
    (p) => p.email?.toLowerCase() === email || p.desktop_login === body.email,
  );
  if (person === undefined) return ok({ login: false }, 400);
  const password = ctx.state.passwords.get(person.id);
  if (password === undefined || password !== body.password) return ok({ login: false }, 400);
  if (!person.active) {
    return ok(
      { error: true, login: false, unactive: true, message: 'User is unactive, he cannot log in.' },
      401,
    );
  }
  const accessToken = ctx.tokens.issue(person.id, 'access', ctx.settings.tokenTtlMs);
  const refreshToken = ctx.tokens.issue(person.id, 'refresh', ctx.settings.refreshTtlMs);
  return ok({
    user: serialize(person, true),
    organisation: organisation(),
    login: true,
    access_token: accessToken,
    refresh_token: refreshToken,
  });
}

function organisation() {
  return { id: '8c2f3a56-3a0e-4a5b-9a36-6f0d8f1c1a00', name: 'Fake Studio', type: 'Organisation' };
}

// ---------------------------------------------------------------- reads

function getTask(ctx: Ctx): TaskRow {
  const task = getOr404(ctx.state.tasks, ctx.params.id, 'Task');
  if (!canSeeTask(ctx.state, ctx.user, task)) throw forbidden();
  return task;
}

function getEntity(ctx: Ctx, kind: EntityKind | null): EntityRow {
  const what = kind ?? 'Entity';
  const entity = getOr404(ctx.state.entities, ctx.params.id, what);
  // `/data/shots/<id>` with an asset id is a 404 in Zou: each route reads one entity type.
  if (kind !== null && entity.type !== kind) throw notFound(what);
  if (!canSeeEntity(ctx.state, ctx.user, entity)) throw forbidden();
  return entity;
}

function fullTask(ctx: Ctx): Answer {
  const task = getTask(ctx);
  const { state } = ctx;
  const entity = state.entities.get(task.entity_id);
  const project = state.projects.get(task.project_id);
  const taskType = state.taskTypes.get(task.task_type_id);
  const taskStatus = state.taskStatuses.get(task.task_status_id);
  if (!entity || !project || !taskType || !taskStatus) throw new HttpError(500, 'Internal server error.');
  const entityType = state.entityTypes.get(entity.entity_type_id);
  const out: Record<string, unknown> = {
    ...serialize(task, true),
    entity: serialize(entity, true),
    entity_type: entityType === undefined ? null : serialize(entityType, true),
    is_subscribed: false,
    persons: task.assignees.flatMap((id) => {
      const p = state.persons.get(id);
      return p === undefined ? [] : [serialize(p, true)];
    }),
    project: serialize(project, true),
    task_status: serialize(taskStatus, true),
    task_type: serialize(taskType, true),
    type: 'Task',
  };
  const assigner = task.assigner_id === null ? undefined : state.persons.get(task.assigner_id);
  if (assigner !== undefined) out.assigner = serialize(assigner, true);
  if (entity.parent_id !== null && (entity.type === 'Shot' || entity.type === 'Sequence')) {
    const sequence = entity.type === 'Sequence' ? entity : state.entities.get(entity.parent_id);
    if (sequence !== undefined) {
      out.sequence = serialize(sequence, true);
      const episode = sequence.parent_id === null ? undefined : state.entities.get(sequence.parent_id);
      if (episode !== undefined) out.episode = serialize(episode, true);
    }
  }
  return ok(out);
}

function projectTasks(ctx: Ctx): Answer {
  const project = getOr404(ctx.state.projects, ctx.params.id, 'Project');
  if (!canSeeProject(ctx.state, ctx.user, project.id)) throw forbidden();
  const taskTypeId = ctx.query.get('task_type_id');
  const episodeId = ctx.query.get('episode_id');
  for (const id of [taskTypeId, episodeId]) {
    if (id !== null && !isValidId(id)) throw badRequest('Malformed ID.');
  }
  const { state, user } = ctx;
  const tasks = [...state.tasks.values()]
    .filter((t) => t.project_id === project.id)
    .filter((t) => taskTypeId === null || t.task_type_id === normalizeId(taskTypeId))
    .filter((t) => {
      if (episodeId === null) return true;
      const sequenceId = state.entities.get(t.entity_id)?.parent_id;
      const sequence = sequenceId == null ? undefined : state.entities.get(sequenceId);
      return sequence?.parent_id === normalizeId(episodeId);
    })
    .filter((t) => user.role !== 'vendor' || t.assignees.includes(user.id))
    .sort(newestFirst);
  const page = intParam(ctx, 'page', 0);
  if (page < 1) return ok(tasks.map((t) => serialize(t, true)));
  const limit = ctx.settings.pageSize;
  const total = tasks.length;
  const offset = (page - 1) * limit;
  // Zou's get_paginated_results reports total 0 past the last page.
  return ok({
    data: total < offset ? [] : tasks.slice(offset, offset + limit).map((t) => serialize(t, true)),
    total: total < offset ? 0 : total,
    nb_pages: Math.ceil(total / limit),
    limit,
    offset,
    page,
  });
}

function taskPreviews(ctx: Ctx): Answer {
  const task = getTask(ctx);
  const previews = [...ctx.state.previewFiles.values()]
    .filter((p) => p.task_id === task.id)
    .sort((a, b) => b.revision - a.revision || (a.created_at < b.created_at ? 1 : -1));
  return ok(previews.map((p) => serialize(p, true)));
}

// ---------------------------------------------------------------- comments

function recordComment(ctx: Ctx, task: TaskRow, statusId: string, text: string): CommentRow {
  const now = nowString(ctx);
  const comment: CommentRow = {
    id: randomUUID(),
    type: 'Comment',
    object_id: task.id,
    object_type: 'Task',
    person_id: ctx.user.id,
    task_status_id: statusId,
    text,
    checklist: [],
    links: [],
    pinned: false,
    created_at: now,
    updated_at: now,
  };
  const previous = ctx.state.taskStatuses.get(task.task_status_id);
  const next = ctx.state.taskStatuses.get(statusId);
  if (next?.is_retake === true && previous?.id !== next.id) task.retake_count += 1;
  if (next?.is_done === true && previous?.is_done !== true) {
    task.end_date = now;
    task.done_date = now;
  }
  task.task_status_id = statusId;
  task.last_comment_date = now;
  task.updated_at = now;
  ctx.state.comments.push(comment);
  return comment;
}

function commentTask(ctx: Ctx): Answer {
  const task = getOr404(ctx.state.tasks, ctx.params.id, 'Task');
  const body = isRecord(ctx.body) ? ctx.body : {};
  if (body.task_status_id === undefined || body.task_status_id === null) {
    throw validationError([{ field: 'task_status_id', message: 'Field required' }]);
  }
  if (!isValidId(body.task_status_id)) {
    throw validationError([{ field: 'task_status_id', message: 'Input should be a valid UUID' }]);
  }
  if (body.comment !== undefined && typeof body.comment !== 'string') {
    throw validationError([{ field: 'comment', message: 'Input should be a valid string' }]);
  }
  const statusId = normalizeId(body.task_status_id);
  if (!canCommentTask(ctx.state, ctx.user, task, statusId)) throw forbidden();
  const comment = recordComment(ctx, task, statusId, body.comment ?? '');
  return ok(serialize(comment, true), 201);
}

function commentMany(ctx: Ctx): Answer {
  const project = getOr404(ctx.state.projects, ctx.params.id, 'Project');
  if (!Array.isArray(ctx.body)) throw badRequest('Request body must be a JSON array.');
  const manager = isManagerOf(ctx.state, ctx.user, project.id);
  const out: Record<string, unknown>[] = [];
  // Like Zou: comments are written one by one, so a bad one fails the request after the earlier ones.
  for (const item of ctx.body as unknown[]) {
    if (!isRecord(item)) continue;
    const { object_id: objectId, task_status_id: statusId, comment } = item;
    if (objectId === undefined || statusId === undefined || comment === undefined) continue;
    if (typeof objectId !== 'string' || typeof statusId !== 'string' || typeof comment !== 'string') {
      throw badRequest('One of the provided values has an invalid format.');
    }
    const task = getOr404(ctx.state.tasks, objectId, 'Task');
    if (!isValidId(statusId)) throw badRequest('Malformed ID.');
    const status = normalizeId(statusId);
    if (!ctx.state.taskStatuses.has(status)) throw notFound('Task status');
    // Non-managers: Zou silently drops what they may not post.
    if (!manager && !canCommentTask(ctx.state, ctx.user, task, status)) continue;
    out.push(serialize(recordComment(ctx, task, status, comment), true));
  }
  return ok(out, 201);
}

// ---------------------------------------------------------------- custom actions

const DB_FORMAT_ERROR = 'One of the provided values has an invalid format.';
const CUSTOM_ACTION_FIELDS = new Set(['name', 'url', 'entity_type', 'is_ajax']);

function checkCustomActionFields(data: Record<string, unknown>): void {
  for (const key of Object.keys(data)) {
    if (!CUSTOM_ACTION_FIELDS.has(key) && !['id', 'created_at', 'updated_at', 'type'].includes(key)) {
      throw badRequest(`'${key}' is an invalid keyword argument for CustomAction`);
    }
  }
  for (const key of ['name', 'url', 'entity_type']) {
    const value = data[key];
    if (value !== undefined && value !== null && typeof value !== 'string') throw badRequest(DB_FORMAT_ERROR);
  }
  const tooLong = (v: unknown, max: number) => typeof v === 'string' && v.length > max;
  if (tooLong(data.name, 80) || tooLong(data.url, 400) || tooLong(data.entity_type, 40)) {
    throw badRequest(DB_FORMAT_ERROR);
  }
  if (data.is_ajax !== undefined && typeof data.is_ajax !== 'boolean') throw badRequest(DB_FORMAT_ERROR);
}

function jsonObject(ctx: Ctx): Record<string, unknown> {
  if (!isRecord(ctx.body)) {
    throw badRequest(
      'Data are empty. Please verify that you sent JSON data and that you set the right headers.',
    );
  }
  return ctx.body;
}

function createCustomAction(ctx: Ctx): Answer {
  if (!isAdmin(ctx.user)) throw forbidden();
  const data = jsonObject(ctx);
  if (data.name === undefined || data.name === null) {
    throw badRequest("The 'name' field is required and cannot be None.");
  }
  if (typeof data.name !== 'string') throw badRequest(DB_FORMAT_ERROR);
  checkCustomActionFields(data);
  const now = nowString(ctx);
  const row: CustomActionRow = {
    id: randomUUID(),
    type: 'CustomAction',
    name: data.name,
    url: typeof data.url === 'string' ? data.url : null,
    entity_type: typeof data.entity_type === 'string' ? data.entity_type : 'all',
    is_ajax: data.is_ajax === true,
    created_at: now,
    updated_at: now,
  };
  ctx.state.customActions.set(row.id, row);
  return ok(serialize(row, true), 201);
}

function updateCustomAction(ctx: Ctx): Answer {
  const data = jsonObject(ctx);
  const row = getOr404(ctx.state.customActions, ctx.params.id, 'Custom action');
  if (!isAdmin(ctx.user)) throw forbidden();
  if ('name' in data && data.name === null) throw badRequest("The 'name' field cannot be set to None.");
  checkCustomActionFields(data);
  if (typeof data.name === 'string') row.name = data.name;
  if (data.url === null || typeof data.url === 'string') row.url = data.url;
  if (typeof data.entity_type === 'string') row.entity_type = data.entity_type;
  if (typeof data.is_ajax === 'boolean') row.is_ajax = data.is_ajax;
  row.updated_at = nowString(ctx);
  return ok(serialize(row, true));
}

function deleteCustomAction(ctx: Ctx): Answer {
  const row = getOr404(ctx.state.customActions, ctx.params.id, 'Custom action');
  if (!isAdmin(ctx.user)) throw forbidden();
  ctx.state.customActions.delete(row.id);
  return { status: 204 };
}

// ---------------------------------------------------------------- playlists

const FOR_ENTITY = ['shot', 'asset', 'sequence', 'edit', 'episode'];
const DUPLICATE = 'A record with the same unique values already exists.';

function sameNameExists(
  state: FakeZouState,
  row: Pick<PlaylistRow, 'id' | 'name' | 'project_id' | 'episode_id'>,
) {
  // Postgres' unique (name, project_id, episode_id): NULL episodes never collide.
  if (row.episode_id === null) return false;
  return [...state.playlists.values()].some(
    (p) =>
      p.id !== row.id &&
      p.name === row.name &&
      p.project_id === row.project_id &&
      p.episode_id === row.episode_id,
  );
}

function checkShots(value: unknown): PlaylistShotRow[] {
  if (!Array.isArray(value)) throw badRequest(DB_FORMAT_ERROR);
  return value.map((shot: unknown) => {
    if (!isRecord(shot) || !isValidId(shot.entity_id)) throw badRequest(DB_FORMAT_ERROR);
    const preview = shot.preview_file_id;
    if (preview !== undefined && preview !== null && !isValidId(preview)) throw badRequest(DB_FORMAT_ERROR);
    return { ...shot, entity_id: shot.entity_id, preview_file_id: preview ?? null };
  });
}

function createPlaylist(ctx: Ctx): Answer {
  const data = jsonObject(ctx);
  if (typeof data.project_id !== 'string' || typeof data.name !== 'string') {
    throw badRequest('A required field is missing.');
  }
  const project = getOr404(ctx.state.projects, data.project_id, 'Project');
  if (!isSupervisorOf(ctx.state, ctx.user, project.id)) throw forbidden();
  const forEntity = data.for_entity ?? 'shot';
  if (typeof forEntity !== 'string' || !FOR_ENTITY.includes(forEntity)) {
    throw badRequest(`for_entity must be one of ${FOR_ENTITY.join(', ')}`);
  }
  let episodeId: string | null = null;
  if (typeof data.episode_id === 'string' && !['all', 'main'].includes(data.episode_id)) {
    const episode = getOr404(ctx.state.entities, data.episode_id, 'Episode');
    if (episode.type !== 'Episode' || episode.project_id !== project.id) throw badRequest(DB_FORMAT_ERROR);
    episodeId = episode.id;
  }
  const taskTypeId = isValidId(data.task_type_id) ? normalizeId(data.task_type_id) : null;
  const now = nowString(ctx);
  const row: PlaylistRow = {
    id: randomUUID(),
    type: 'Playlist',
    name: data.name,
    project_id: project.id,
    episode_id: episodeId,
    task_type_id: taskTypeId,
    for_client: data.for_client === true,
    for_entity: forEntity,
    is_for_all: data.is_for_all === true,
    shots: data.shots === undefined ? [] : checkShots(data.shots),
    created_by: ctx.user.id,
    created_at: now,
    updated_at: now,
  };
  if (sameNameExists(ctx.state, row)) throw badRequest(DUPLICATE);
  ctx.state.playlists.set(row.id, row);
  return ok(serialize(row, true), 201);
}

function getPlaylist(ctx: Ctx): PlaylistRow {
  const row = getOr404(ctx.state.playlists, ctx.params.id, 'Playlist');
  if (ctx.user.role === 'vendor' || !canSeeProject(ctx.state, ctx.user, row.project_id)) throw forbidden();
  return row;
}

function updatePlaylist(ctx: Ctx): Answer {
  const data = jsonObject(ctx);
  const row = getOr404(ctx.state.playlists, ctx.params.id, 'Playlist');
  if (!isSupervisorOf(ctx.state, ctx.user, row.project_id)) throw forbidden();
  const next = { ...row };
  if (data.name !== undefined) {
    if (typeof data.name !== 'string' || data.name === '') throw badRequest(DB_FORMAT_ERROR);
    next.name = data.name;
  }
  if (data.shots !== undefined) next.shots = checkShots(data.shots);
  if (typeof data.for_client === 'boolean') next.for_client = data.for_client;
  if (data.task_type_id !== undefined) {
    next.task_type_id = isValidId(data.task_type_id) ? normalizeId(data.task_type_id) : null;
  }
  if (sameNameExists(ctx.state, next)) throw badRequest(DUPLICATE);
  next.updated_at = nowString(ctx);
  ctx.state.playlists.set(row.id, next);
  return ok(serialize(next, false));
}

// ---------------------------------------------------------------- the table

const GET = 'GET' as const;

export const routes: Route[] = [
  { method: 'POST', path: '/auth/login', auth: 'none', body: 'silent', handle: login },
  {
    method: GET,
    path: '/auth/refresh-token',
    auth: 'refresh',
    handle: (ctx) => ok({ access_token: ctx.tokens.issue(ctx.user.id, 'access', ctx.settings.tokenTtlMs) }),
  },
  {
    method: GET,
    path: '/auth/authenticated',
    auth: 'access',
    handle: (ctx) =>
      ok({ authenticated: true, user: serialize(ctx.user, true), organisation: organisation() }),
  },

  {
    method: GET,
    path: '/data/persons',
    auth: 'access',
    handle: (ctx) => {
      const answer = listRows(ctx, ctx.state.persons.values(), () => true);
      return isAdmin(ctx.user) ? answer : { ...answer, body: mapListed(answer.body, minimalPerson) };
    },
  },
  {
    method: GET,
    path: '/data/persons/:id',
    auth: 'access',
    handle: (ctx) => ok(serialize(getOr404(ctx.state.persons, ctx.params.id, 'Person'), true)),
  },
  {
    method: GET,
    path: '/data/projects',
    auth: 'access',
    handle: (ctx) =>
      listRows(ctx, ctx.state.projects.values(), (p) => canSeeProject(ctx.state, ctx.user, p.id)),
  },
  {
    method: GET,
    path: '/data/projects/:id',
    auth: 'access',
    handle: (ctx) => {
      const project = getOr404(ctx.state.projects, ctx.params.id, 'Project');
      if (!canSeeProject(ctx.state, ctx.user, project.id)) throw forbidden();
      return ok(serialize(project, boolParam(ctx, 'relations', true)));
    },
  },
  { method: GET, path: '/data/projects/:id/tasks', auth: 'access', handle: projectTasks },
  {
    method: GET,
    path: '/data/tasks',
    auth: 'access',
    handle: (ctx) => listRows(ctx, ctx.state.tasks.values(), (t) => canSeeTask(ctx.state, ctx.user, t)),
  },
  {
    method: GET,
    path: '/data/tasks/:id',
    auth: 'access',
    handle: (ctx) => ok(serialize(getTask(ctx), boolParam(ctx, 'relations', true))),
  },
  { method: GET, path: '/data/tasks/:id/full', auth: 'access', handle: fullTask },
  { method: GET, path: '/data/tasks/:id/previews', auth: 'access', handle: taskPreviews },
  ...(
    [
      ['entities', null],
      ['shots', 'Shot'],
      ['sequences', 'Sequence'],
      ['episodes', 'Episode'],
      ['assets', 'Asset'],
    ] as const
  ).map(([model, kind]): Route => ({
    method: GET,
    path: `/data/${model}/:id`,
    auth: 'access',
    handle: (ctx) => ok(serialize(getEntity(ctx, kind), true)),
  })),
  {
    method: GET,
    path: '/data/entity-types',
    auth: 'access',
    handle: (ctx) => listRows(ctx, ctx.state.entityTypes.values(), () => true),
  },
  {
    method: GET,
    path: '/data/task-types',
    auth: 'access',
    handle: (ctx) => listRows(ctx, ctx.state.taskTypes.values(), () => true),
  },
  {
    method: GET,
    path: '/data/task-types/:id',
    auth: 'access',
    handle: (ctx) => ok(serialize(getOr404(ctx.state.taskTypes, ctx.params.id, 'Task type'), true)),
  },
  {
    method: GET,
    path: '/data/task-status',
    auth: 'access',
    handle: (ctx) => listRows(ctx, ctx.state.taskStatuses.values(), () => true),
  },
  {
    method: GET,
    path: '/data/task-status/:id',
    auth: 'access',
    handle: (ctx) => ok(serialize(getOr404(ctx.state.taskStatuses, ctx.params.id, 'Task status'), true)),
  },
  {
    method: GET,
    path: '/data/preview-files/:id',
    auth: 'access',
    handle: (ctx) => {
      const preview = getOr404(ctx.state.previewFiles, ctx.params.id, 'Preview file');
      const task = ctx.state.tasks.get(preview.task_id);
      if (task === undefined || !canSeeTask(ctx.state, ctx.user, task)) throw forbidden();
      return ok(serialize(preview, true));
    },
  },
  { method: 'POST', path: '/actions/tasks/:id/comment', auth: 'access', body: 'silent', handle: commentTask },
  {
    method: 'POST',
    path: '/actions/projects/:id/tasks/comment-many',
    auth: 'access',
    body: 'silent',
    handle: commentMany,
  },
  {
    method: GET,
    path: '/data/custom-actions',
    auth: 'access',
    handle: (ctx) => {
      if (ctx.user.role === 'vendor') throw forbidden();
      return listRows(ctx, ctx.state.customActions.values(), () => true);
    },
  },
  {
    method: 'POST',
    path: '/data/custom-actions',
    auth: 'access',
    body: 'strict',
    handle: createCustomAction,
  },
  {
    method: GET,
    path: '/data/custom-actions/:id',
    auth: 'access',
    handle: (ctx) => {
      const row = getOr404(ctx.state.customActions, ctx.params.id, 'Custom action');
      if (!isAdmin(ctx.user)) throw forbidden();
      return ok(serialize(row, true));
    },
  },
  {
    method: 'PUT',
    path: '/data/custom-actions/:id',
    auth: 'access',
    body: 'strict',
    handle: updateCustomAction,
  },
  { method: 'DELETE', path: '/data/custom-actions/:id', auth: 'access', handle: deleteCustomAction },
  {
    method: GET,
    path: '/data/playlists',
    auth: 'access',
    handle: (ctx) => {
      if (ctx.user.role === 'vendor') throw forbidden();
      return listRows(
        ctx,
        ctx.state.playlists.values(),
        (p) =>
          canSeeProject(ctx.state, ctx.user, p.project_id) && (ctx.user.role !== 'client' || p.for_client),
      );
    },
  },
  { method: 'POST', path: '/data/playlists', auth: 'access', body: 'strict', handle: createPlaylist },
  {
    method: GET,
    path: '/data/playlists/:id',
    auth: 'access',
    handle: (ctx) => ok(serialize(getPlaylist(ctx), true)),
  },
  { method: 'PUT', path: '/data/playlists/:id', auth: 'access', body: 'strict', handle: updatePlaylist },
  {
    method: 'DELETE',
    path: '/data/playlists/:id',
    auth: 'access',
    handle: (ctx) => {
      const row = getOr404(ctx.state.playlists, ctx.params.id, 'Playlist');
      if (!isSupervisorOf(ctx.state, ctx.user, row.project_id)) throw forbidden();
      ctx.state.playlists.delete(row.id);
      return { status: 204 };
    },
  },
];
