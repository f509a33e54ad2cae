import { randomUUID } from 'node:crypto';
import {
  badRequest,
  dbError,
  findOr404,
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
  TaskStatusRow,
} from './model.ts';
import { zouTime } from './seed.ts';

// ---------------------------------------------------------------- access rules (Zou's, simplified)
// Zou's permissions_service: the fake has no per-project roles and no departments, so a person's project
// role is their studio role.

const isAdmin = (user: PersonRow) => user.role === 'admin';

function onTeam(state: FakeZouState, user: PersonRow, projectId: string): boolean {
  return state.projects.get(projectId)?.team.includes(user.id) ?? false;
}

/** Only admins see every project; every other role, manager included, must be on the team. */
function canSeeProject(state: FakeZouState, user: PersonRow, projectId: string): boolean {
  return isAdmin(user) || onTeam(state, user, projectId);
}

/** check_entity_access: a vendor reads only the entities they hold a task on (not their parents). */
function vendorReaches(state: FakeZouState, user: PersonRow, entityId: string): boolean {
  if (user.role !== 'vendor') return true;
  for (const task of state.tasks.values()) {
    if (task.entity_id === entityId && task.assignees.includes(user.id)) return true;
  }
  return false;
}

/** check_task_access: the project, then the entity (a vendor reads every task of an entity they work on). */
function canSeeTask(state: FakeZouState, user: PersonRow, task: TaskRow): boolean {
  return canSeeProject(state, user, task.project_id) && vendorReaches(state, user, task.entity_id);
}

/** `/data/tasks` lists: a vendor's only the tasks assigned to them, anyone else's their projects'. */
function listsTask(state: FakeZouState, user: PersonRow, task: TaskRow): boolean {
  if (user.role === 'vendor') return task.assignees.includes(user.id);
  return canSeeProject(state, user, task.project_id);
}

function canSeeEntity(state: FakeZouState, user: PersonRow, entity: EntityRow): boolean {
  return canSeeProject(state, user, entity.project_id) && vendorReaches(state, user, entity.id);
}

const isManagerOf = (state: FakeZouState, user: PersonRow, projectId: string) =>
  isAdmin(user) || (user.role === 'manager' && onTeam(state, user, projectId));

const isSupervisorOf = (state: FakeZouState, user: PersonRow, projectId: string) =>
  isManagerOf(state, user, projectId) || (user.role === 'supervisor' && onTeam(state, user, projectId));

/**
 * check_task_action_access: admins; on the team, managers and clients on any task, supervisors on any
 * task (departments aside), others on the tasks assigned to them or on entities they created.
 */
function canActOnTask(state: FakeZouState, user: PersonRow, task: TaskRow): boolean {
  if (isAdmin(user)) return true;
  if (!onTeam(state, user, task.project_id)) return false;
  if (['manager', 'client', 'supervisor'].includes(user.role)) return true;
  if (task.assignees.includes(user.id)) return true;
  return state.entities.get(task.entity_id)?.created_by === user.id;
}

/**
 * check_task_status_access: artists (role `user` on the project) may set only `is_artist_allowed`
 * statuses, clients only `is_client_allowed` ones; every other role (vendors included) any. An unknown
 * status is a 404.
 */
function checkStatusAccess(state: FakeZouState, user: PersonRow, projectId: string, statusId: unknown) {
  const status = findOr404(state.taskStatuses, statusId, 'Task status');
  const role = onTeam(state, user, projectId) ? user.role : null;
  if (role === 'user' && !status.is_artist_allowed) throw forbidden();
  if (role === 'client' && !status.is_client_allowed) throw forbidden();
  return status;
}

/** The fields Zou blanks in every task a client reads (entities_service.CLIENT_BLANK_TASK_VALUES). */
const CLIENT_BLANK_TASK_VALUES = {
  assignees: [],
  assigner_id: null,
  completion_rate: 0,
  difficulty: null,
  done_date: null,
  due_date: null,
  duration: 0,
  end_date: null,
  estimation: 0,
  last_comment_date: null,
  nb_assets_ready: 0,
  nb_drawings: 0,
  priority: 0,
  real_start_date: null,
  retake_count: 0,
  start_date: null,
} as const;

function blankForClient(user: PersonRow, task: Record<string, unknown>): Record<string, unknown> {
  if (user.role !== 'client') return task;
  const out = { ...task };
  for (const [name, value] of Object.entries(CLIENT_BLANK_TASK_VALUES)) {
    if (name in out) out[name] = Array.isArray(value) ? [] : value;
  }
  return out;
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

/** Zou's Person.present_client: a client reads names and avatars, nothing of the studio's organisation. */
function clientPerson(row: Record<string, unknown>): Record<string, unknown> {
  return {
    id: row.id,
    type: 'Person',
    first_name: row.first_name,
    last_name: row.last_name,
    full_name: row.full_name,
    has_avatar: row.has_avatar,
    active: row.active,
    role: row.role,
    is_bot: row.is_bot,
  };
}

/** Zou's Person.present_minimal: what non-admins get from the persons list (no email). */
function minimalPerson(row: Record<string, unknown>): Record<string, unknown> {
  return {
    ...clientPerson(row),
    // Filled only with ?relations=true, which the route does not pass to present_minimal for lists.
    departments: [],
    studio_id: null,
    desktop_login: row.desktop_login,
  };
}

/** The persons list: admins get everyone in full, clients their teammates, others everyone, minimal. */
/** user_service.get_client_team_person_ids: the people of the teams a client is on. */
function clientTeammates(state: FakeZouState, user: PersonRow): Set<string> {
  return new Set([...state.projects.values()].filter((p) => p.team.includes(user.id)).flatMap((p) => p.team));
}

function listPersons(ctx: Ctx): Answer {
  const { state, user } = ctx;
  if (user.role !== 'client') {
    const answer = listRows(ctx, state.persons.values(), () => true);
    return isAdmin(user) ? answer : { ...answer, body: mapListed(answer.body, minimalPerson) };
  }
  const teammates = clientTeammates(state, user);
  const answer = listRows(ctx, state.persons.values(), (p) => teammates.has(p.id));
  return { ...answer, body: mapListed(answer.body, clientPerson) };
}

/**
 * PersonResource.get: managers and admins read the whole person, a client only a teammate (names and
 * role), anyone else present_minimal (no email), its departments with ?relations (the default).
 */
function getPerson(ctx: Ctx): Answer {
  const { state, user } = ctx;
  const relations = boolParam(ctx, 'relations', true);
  const person = getOr404(state.persons, ctx.params.id, 'Person');
  const row = serialize(person, true);
  if (isAdmin(user) || user.role === 'manager') return ok(row);
  if (user.role === 'client') {
    if (!clientTeammates(state, user).has(person.id)) throw forbidden();
    return ok(clientPerson(row));
  }
  return ok({ ...minimalPerson(row), departments: relations ? [...person.departments] : [] });
}

// ---------------------------------------------------------------- auth

// ua-parser's browser families that Zou's is_from_browser lists.
const BROWSER = /\b(Chrome|CriOS|Firefox|FxiOS|Safari|Edg|Edge|OPR|Opera|Vivaldi|Brave)\//;

/** flask-jwt-extended's set_access_cookies / set_refresh_cookies (JWT_COOKIE_SAMESITE = Lax). */
function jwtCookie(name: string, value: string, path: string): string {
  const maxAge = 31_540_000;
  const expires = new Date(Date.now() + maxAge * 1000).toUTCString();
  return `${name}=${value}; Expires=${expires}; Max-Age=${String(maxAge)}; HttpOnly; Path=${path}; SameSite=Lax`;
}

const WRONG_LOGIN = { login: false, message: 'Wrong email or password.' };

function login(ctx: PublicCtx): Answer {
  const body = isRecord(ctx.body) ? ctx.body : {};
  // LoginSchema requires the email only: a missing password is a wrong one.
  if (typeof body.email !== 'string') throw validationError([{ field: 'email', message: 'Field required' }]);
  const email = body.email.toLowerCase();
  const person = [...ctx.state.persons.values()].find(
    (p) => p.email?.toLowerCase() === email || p.desktop_login === body.email,
  );
  if (person === undefined) return ok(WRONG_LOGIN, 400);
  const password = ctx.state.passwords.get(person.id);
  if (password === undefined || password !== body.password) return ok(WRONG_LOGIN, 400);
  if (!person.active) {
    return ok(
      { error: true, login: false, unactive: true, message: 'User is unactive, he cannot log in.' },
      401,
    );
  }
  const accessToken = ctx.tokens.issue(person.id, 'access', ctx.settings.tokenTtlMs);
  const refreshToken = ctx.tokens.issue(person.id, 'refresh', ctx.settings.refreshTtlMs);
  const answer = ok({
    user: serialize(person, true),
    organisation: organisation(),
    login: true,
    access_token: accessToken,
    refresh_token: refreshToken,
  });
  if (!BROWSER.test(ctx.userAgent)) return answer;
  return {
    ...answer,
    headers: {
      'set-cookie': [
        jwtCookie('access_token_cookie', accessToken, '/'),
        jwtCookie('refresh_token_cookie', refreshToken, '/auth/refresh-token'),
      ],
    },
  };
}

/** A browser gets the new access token as its cookie (and loses the refresh cookie), a script in the body. */
function refreshToken(ctx: Ctx): Answer {
  const accessToken = ctx.tokens.issue(ctx.user.id, 'access', ctx.settings.tokenTtlMs);
  if (!BROWSER.test(ctx.userAgent)) return ok({ access_token: accessToken });
  return {
    status: 200,
    body: { refresh: true },
    headers: {
      'set-cookie': [
        jwtCookie('access_token_cookie', accessToken, '/'),
        'refresh_token_cookie=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; HttpOnly; Path=/auth/refresh-token; SameSite=Lax',
      ],
    },
  };
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

/** `/data/tasks/<id>/...` routes are not Zou's CRUD: a malformed id is a plain 404 there. */
function getTaskOfRoute(ctx: Ctx): TaskRow {
  const task = findOr404(ctx.state.tasks, ctx.params.id, 'Task');
  if (!canSeeTask(ctx.state, ctx.user, task)) throw forbidden();
  return task;
}

/** `/data/entities/<id>` is Zou's CRUD (400 for a malformed id); the typed routes answer 404. */
function getEntity(ctx: Ctx, kind: EntityKind | null): EntityRow {
  const what = kind ?? 'Entity';
  const entity =
    kind === null
      ? getOr404(ctx.state.entities, ctx.params.id, what)
      : findOr404(ctx.state.entities, ctx.params.id, what);
  // `/data/shots/<id>` with an asset id is a 404 in Zou: each route reads one entity type.
  if (kind !== null && entity.type !== kind) throw notFound(what);
  if (!canSeeEntity(ctx.state, ctx.user, entity)) throw forbidden();
  return entity;
}

/** Zou's get_full_asset: no nb_frames nor source_id, and an empty string for a missing preview. */
function fullAsset(entity: EntityRow): Record<string, unknown> {
  const rest = serialize(entity, true);
  delete rest.nb_frames;
  delete rest.source_id;
  return {
    ...rest,
    preview_file_id: entity.preview_file_id ?? '',
    ready_for: String(entity.ready_for ?? 'None'),
    episode_id: '',
    casting_episode_ids: [],
  };
}

function fullTask(ctx: Ctx): Answer {
  const task = getTaskOfRoute(ctx);
  const { state } = ctx;
  const entity = state.entities.get(task.entity_id);
  const project = state.projects.get(task.project_id);
  const taskType = state.taskTypes.get(task.task_type_id);
  const taskStatus = state.taskStatuses.get(task.task_status_id);
  if (!entity || !project || !taskType || !taskStatus) throw new HttpError(500, 'Internal server error.');
  const entityType = state.entityTypes.get(entity.entity_type_id);
  const client = ctx.user.role === 'client';
  const out: Record<string, unknown> = {
    ...blankForClient(ctx.user, serialize(task, true)),
    entity: serialize(entity, true),
    entity_type: entityType === undefined ? null : serialize(entityType, true),
    is_subscribed: false,
    // A client sees no assignee (nor the assigner, below).
    persons: client
      ? []
      : task.assignees.flatMap((id) => {
          const p = state.persons.get(id);
          // persons_service.get_persons_by_ids: without their relations (no departments).
          return p === undefined ? [] : [serialize(p, false)];
        }),
    // projects_service.get_project: without its relations (no team).
    project: serialize(project, false),
    task_status: serialize(taskStatus, true),
    task_type: serialize(taskType, true),
    type: 'Task',
  };
  const assigner = task.assigner_id === null ? undefined : state.persons.get(task.assigner_id);
  if (assigner !== undefined && !client) out.assigner = serialize(assigner, true);
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

/**
 * The sorted task lists of projects, by query, kept until the next write request (or a change in the number
 * of tasks): paging a 100,000-task production would otherwise filter and sort it again for each of its
 * thousand pages. A test that edits `state` rows in place and lists again calls `noteWrite(state)`.
 */
const listMemo = new WeakMap<FakeZouState, { size: number; lists: Map<string, TaskRow[]> }>();

export function noteWrite(state: FakeZouState): void {
  listMemo.delete(state);
}

function projectTasks(ctx: Ctx): Answer {
  const project = findOr404(ctx.state.projects, ctx.params.id, 'Project');
  if (!canSeeProject(ctx.state, ctx.user, project.id)) throw forbidden();
  const taskTypeId = ctx.query.get('task_type_id');
  const episodeId = ctx.query.get('episode_id');
  for (const id of [taskTypeId, episodeId]) {
    if (id !== null && !isValidId(id)) throw badRequest('Malformed ID.');
  }
  const { state, user } = ctx;
  let memo = listMemo.get(state);
  if (memo?.size !== state.tasks.size) {
    memo = { size: state.tasks.size, lists: new Map() };
    listMemo.set(state, memo);
  }
  const key = [project.id, taskTypeId, episodeId, user.role === 'vendor' ? user.id : ''].join('|');
  const tasks =
    memo.lists.get(key) ??
    [...state.tasks.values()]
      .filter((t) => t.project_id === project.id)
      .filter((t) => taskTypeId === null || t.task_type_id === normalizeId(taskTypeId))
      .filter((t) => {
        if (episodeId === null) return true;
        const sequenceId = state.entities.get(t.entity_id)?.parent_id;
        const sequence = sequenceId == null ? undefined : state.entities.get(sequenceId);
        return sequence?.parent_id === normalizeId(episodeId);
      })
      // Zou narrows a vendor's list to their own tasks only when an episode is asked for
      // (todos_service.get_tasks_for_project); without one a vendor on the team gets every task.
      .filter((t) => episodeId === null || user.role !== 'vendor' || t.assignees.includes(user.id))
      .sort(newestFirst);
  memo.lists.set(key, tasks);
  const page = intParam(ctx, 'page', 0);
  if (page < 1) return ok(tasks.map((t) => serialize(t, true)));
  const limit = ctx.settings.pageSize;
  const total = tasks.length;
  const offset = (page - 1) * limit;
  // Past the last page: no data, but total and nb_pages still describe the whole list.
  return ok({
    data: total < offset ? [] : tasks.slice(offset, offset + limit).map((t) => serialize(t, true)),
    total,
    nb_pages: Math.ceil(total / limit),
    limit,
    offset,
    page,
  });
}

function taskPreviews(ctx: Ctx): Answer {
  const task = getTaskOfRoute(ctx);
  const previews = [...ctx.state.previewFiles.values()]
    .filter((p) => p.task_id === task.id)
    // A client does not see the previews the studio rejected.
    .filter((p) => ctx.user.role !== 'client' || p.validation_status !== 'rejected')
    .sort((a, b) => b.revision - a.revision || (a.created_at < b.created_at ? 1 : -1));
  return ok(previews.map((p) => serialize(p, true)));
}

// ---------------------------------------------------------------- comments

/** comments_service._check_retake_capping: the entity's `data.max_retakes`, else the project's; 0 = none. */
function checkRetakeCap(ctx: Ctx, task: TaskRow, status: TaskStatusRow): void {
  if (!status.is_retake) return;
  const projectMax = ctx.state.projects.get(task.project_id)?.max_retakes ?? 0;
  if (projectMax <= 0) return;
  const entityMax = Number(ctx.state.entities.get(task.entity_id)?.data?.['max_retakes'] ?? 0);
  const max = entityMax > 0 ? entityMax : projectMax;
  if (task.retake_count >= max) throw badRequest('No more retakes allowed on this task');
}

/**
 * comments_service.create_comment and tasks_service.update_task: when the status changes, a retake
 * counts one more retake, a feedback request stamps end_date, a done status stamps done_date (end_date
 * stays), any other clears both; a wip status stamps real_start_date if unset.
 */
function recordComment(ctx: Ctx, task: TaskRow, status: TaskStatusRow, text: string): CommentRow {
  checkRetakeCap(ctx, task, status);
  const now = nowString(ctx);
  const comment: CommentRow = {
    id: randomUUID(),
    type: 'Comment',
    object_id: task.id,
    object_type: 'Task',
    person_id: ctx.user.id,
    task_status_id: status.id,
    text,
    checklist: [],
    links: [],
    pinned: null,
    created_at: now,
    updated_at: now,
  };
  if (status.id !== task.task_status_id) {
    if (status.is_retake) task.retake_count += 1;
    if (status.is_feedback_request) task.end_date = now;
    else if (!status.is_done) task.end_date = null;
    task.done_date = status.is_done ? now : null;
    if (status.is_wip && task.real_start_date === null) task.real_start_date = now;
  }
  task.task_status_id = status.id;
  task.last_comment_date = now;
  task.updated_at = now;
  ctx.state.comments.push(comment);
  return comment;
}

/** The answer of a comment route: the comment with its status and author inlined, as Zou sends it. */
function presentComment(ctx: Ctx, comment: CommentRow): Record<string, unknown> {
  const status = ctx.state.taskStatuses.get(comment.task_status_id);
  return {
    ...serialize(comment, true),
    for_client: false,
    data: null,
    replies: [],
    mentions: [],
    department_mentions: [],
    acknowledgements: [],
    attachment_files: [],
    previews: [],
    preview_file_id: null,
    editor_id: null,
    task_status: status === undefined ? null : serialize(status, true),
    person: serialize(ctx.user, false),
  };
}

/** CommentCreateSchema, then check_task_action_access, check_task_status_access and the retake cap. */
function commentTask(ctx: Ctx): Answer {
  const body = isRecord(ctx.body) ? ctx.body : {};
  if (body.task_status_id === undefined || body.task_status_id === null) {
    throw validationError([{ field: 'task_status_id', message: 'Field required' }]);
  }
  if (typeof body.task_status_id !== 'string') {
    throw validationError([{ field: 'task_status_id', message: 'Input should be a valid string' }]);
  }
  if (body.comment !== undefined && typeof body.comment !== 'string') {
    throw validationError([{ field: 'comment', message: 'Input should be a valid string' }]);
  }
  const task = findOr404(ctx.state.tasks, ctx.params.id, 'Task');
  if (!canActOnTask(ctx.state, ctx.user, task)) throw forbidden();
  // A malformed status id is an unknown one: 404 either way.
  const status = checkStatusAccess(ctx.state, ctx.user, task.project_id, body.task_status_id);
  const comment = recordComment(ctx, task, status, body.comment ?? '');
  return ok(presentComment(ctx, comment), 201);
}

const COMMENT_MANY_FIELDS = ['object_id', 'task_status_id', 'comment'] as const;

/** BatchCommentItemSchema on the whole list: dicts, UUIDs or null, a string or null; nulls are dropped. */
function commentManyItems(body: unknown): Record<string, string>[] {
  if (!Array.isArray(body)) throw badRequest('Request body must be a JSON array.');
  const errors: { field: string; message: string }[] = [];
  const items = (body as unknown[]).map((item, index) => {
    if (!isRecord(item)) {
      errors.push({
        field: String(index),
        message: 'Input should be a valid dictionary or instance of BatchCommentItemSchema',
      });
      return {};
    }
    const out: Record<string, string> = {};
    for (const field of COMMENT_MANY_FIELDS) {
      const value = item[field];
      if (value === undefined || value === null) continue;
      if (field === 'comment' ? typeof value !== 'string' : !isValidId(value)) {
        errors.push({
          field: `${String(index)}.${field}`,
          message: field === 'comment' ? 'Input should be a valid string' : 'Input should be a valid UUID',
        });
        continue;
      }
      out[field] = field === 'comment' ? (value as string) : normalizeId(value as string);
    }
    return out;
  });
  if (errors.length > 0) throw validationError(errors);
  return items;
}

/**
 * CommentManyTasksResource: a manager of the project (or an admin) writes every item; anyone else only
 * the items of tasks assigned to them (a supervisor any task, on the team or not: their role on a project
 * they are not on is their studio role), the others silently dropped. Items missing
 * a field are skipped; an unknown task or status is a 404 and a status the caller may not set a 403,
 * after the earlier items were written (Zou writes them one by one).
 */
function commentMany(ctx: Ctx): Answer {
  const items = commentManyItems(ctx.body);
  const { state, user } = ctx;
  // An admin's request never reads the project; anyone else's needs it to exist.
  if (!isAdmin(user)) findOr404(state.projects, ctx.params.id, 'Project');
  const manager =
    isAdmin(user) || (ctx.params.id !== undefined && isManagerOf(state, user, normalizeId(ctx.params.id)));
  const allowed = manager
    ? items
    : items.filter((item) => {
        if (item.object_id === undefined) return false;
        const task = findOr404(state.tasks, item.object_id, 'Task');
        // get_project_role: the role on the task's project, which in the fake is the studio role, team or
        // not; the fake's people have no departments, so a supervisor passes on every task.
        const supervisor = user.role === 'supervisor';
        return supervisor || task.assignees.includes(user.id);
      });
  const out: Record<string, unknown>[] = [];
  for (const item of allowed) {
    const { object_id: objectId, task_status_id: statusId, comment } = item;
    if (objectId === undefined || statusId === undefined || comment === undefined) continue;
    const task = findOr404(state.tasks, objectId, 'Task');
    const status = checkStatusAccess(state, user, task.project_id, statusId);
    out.push(presentComment(ctx, recordComment(ctx, task, status, comment)));
  }
  return ok(out, 201);
}

// ---------------------------------------------------------------- custom actions

const DB_FORMAT_ERROR = 'One of the provided values has an invalid format.';
const CUSTOM_ACTION_FIELDS = new Set(['name', 'url', 'entity_type', 'is_ajax']);
const PROTECTED_FIELDS = ['id', 'created_at', 'updated_at', 'type'];

/** The columns' types and lengths (name 80, url 400, entity_type 40), checked like PostgreSQL would. */
function checkCustomActionValues(data: Record<string, unknown>): void {
  for (const key of ['name', 'url', 'entity_type']) {
    const value = data[key];
    if (value !== undefined && value !== null && typeof value !== 'string') throw dbError(DB_FORMAT_ERROR);
  }
  const tooLong = (v: unknown, max: number) => typeof v === 'string' && v.length > max;
  if (tooLong(data.name, 80) || tooLong(data.url, 400) || tooLong(data.entity_type, 40)) {
    throw dbError(DB_FORMAT_ERROR);
  }
  if (data.is_ajax !== undefined && typeof data.is_ajax !== 'boolean') throw dbError(DB_FORMAT_ERROR);
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
  const data = isRecord(ctx.body) ? ctx.body : {};
  if (data.name === undefined || data.name === null) {
    throw badRequest("The 'name' field is required and cannot be None.");
  }
  // The model's constructor refuses an unknown keyword (a TypeError: `{ message }` alone).
  for (const key of Object.keys(data)) {
    if (!CUSTOM_ACTION_FIELDS.has(key) && !PROTECTED_FIELDS.includes(key)) {
      throw dbError(`'${key}' is an invalid keyword argument for CustomAction`);
    }
  }
  checkCustomActionValues(data);
  const name = data.name;
  if (typeof name !== 'string') throw dbError(DB_FORMAT_ERROR);
  const now = nowString(ctx);
  const row: CustomActionRow = {
    id: randomUUID(),
    type: 'CustomAction',
    name,
    url: typeof data.url === 'string' ? data.url : null,
    entity_type: typeof data.entity_type === 'string' ? data.entity_type : 'all',
    is_ajax: data.is_ajax === true,
    created_at: now,
    updated_at: now,
  };
  ctx.state.customActions.set(row.id, row);
  return ok(serialize(row, true), 201);
}

/** An update sets the known columns and ignores the rest (Zou's Model.update skips unknown keys). */
function updateCustomAction(ctx: Ctx): Answer {
  const data = jsonObject(ctx);
  const row = getOr404(ctx.state.customActions, ctx.params.id, 'Custom action');
  if (!isAdmin(ctx.user)) throw forbidden();
  if ('name' in data && data.name === null) throw badRequest("The 'name' field cannot be set to None.");
  checkCustomActionValues(data);
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
const PLAYLIST_FIELDS = new Set([
  'name',
  'project_id',
  'episode_id',
  'task_type_id',
  'for_client',
  'for_entity',
  'is_for_all',
  'shots',
  'created_by',
]);

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

/**
 * The playlist's entries as Zou keeps them: `{ entity_id, preview_file_id }` (an `id` stands for the
 * entity), entries without an entity dropped, and a preview that is not one of the entity's tasks'
 * (unknown or malformed ids included) unset (preview_files_service.unpin_foreign_preview_files).
 */
function checkShots(state: FakeZouState, value: unknown): PlaylistShotRow[] {
  if (!Array.isArray(value)) throw dbError(`'${typeof value}' object is not iterable`);
  return (value as unknown[]).flatMap((shot): PlaylistShotRow[] => {
    if (!isRecord(shot)) return [];
    const entity = shot.entity_id ?? shot.id;
    if (typeof entity !== 'string' || entity === '') return [];
    const preview = typeof shot.preview_file_id === 'string' ? shot.preview_file_id.toLowerCase() : null;
    const owner = preview === null ? undefined : state.previewFiles.get(preview);
    const ownTask = owner === undefined ? undefined : state.tasks.get(owner.task_id);
    const own = ownTask !== undefined && ownTask.entity_id === entity.toLowerCase();
    return [{ entity_id: entity, preview_file_id: own ? preview : null }];
  });
}

/** Zou's create: the caller's access first, then the values, then the database's constraints. */
function createPlaylist(ctx: Ctx): Answer {
  const data = jsonObject(ctx);
  const { state, user } = ctx;
  // check_supervisor_project_access reads data["project_id"]: a KeyError when it is missing.
  if (!('project_id' in data)) throw dbError("'project_id'");
  if (!isAdmin(user)) {
    const project = findOr404(state.projects, data.project_id, 'Project');
    if (!isSupervisorOf(state, user, project.id)) throw forbidden();
  }
  const forEntity = data.for_entity ?? 'shot';
  if (typeof forEntity !== 'string' || !FOR_ENTITY.includes(forEntity)) {
    throw badRequest(`for_entity must be one of ${FOR_ENTITY.join(', ')}`);
  }
  for (const key of Object.keys(data)) {
    if (!PLAYLIST_FIELDS.has(key) && !PROTECTED_FIELDS.includes(key)) {
      throw dbError(`'${key}' is an invalid keyword argument for Playlist`);
    }
  }
  if (typeof data.name !== 'string') throw dbError('A required field is missing.');
  // Unknown project or episode: the foreign keys refuse them.
  const project = isValidId(data.project_id) ? state.projects.get(normalizeId(data.project_id)) : undefined;
  if (project === undefined) throw dbError('The change conflicts with records referencing this one.');
  let episodeId: string | null = null;
  if (typeof data.episode_id === 'string' && !['all', 'main'].includes(data.episode_id)) {
    const episode = isValidId(data.episode_id) ? state.entities.get(normalizeId(data.episode_id)) : undefined;
    if (episode === undefined) throw dbError('The change conflicts with records referencing this one.');
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
    // Zou leaves the column empty (null) until entries are set.
    shots: data.shots === undefined || data.shots === null ? null : checkShots(state, data.shots),
    created_by: user.id,
    created_at: now,
    updated_at: now,
  };
  if (sameNameExists(state, row)) throw dbError(DUPLICATE);
  state.playlists.set(row.id, row);
  return ok({ ...serialize(row, true), build_jobs: [] }, 201);
}

function getPlaylist(ctx: Ctx): PlaylistRow {
  const row = getOr404(ctx.state.playlists, ctx.params.id, 'Playlist');
  if (!canSeeProject(ctx.state, ctx.user, row.project_id) || ctx.user.role === 'vendor') throw forbidden();
  if (ctx.user.role === 'client' && !row.for_client) throw forbidden();
  return row;
}

/** check_playlist_update_access: a manager of the project, or the supervisor who created the playlist. */
function canUpdatePlaylist(state: FakeZouState, user: PersonRow, row: PlaylistRow): boolean {
  if (isManagerOf(state, user, row.project_id)) return true;
  return (
    user.role === 'supervisor' &&
    onTeam(state, user, row.project_id) &&
    (row.created_by === null || row.created_by === user.id)
  );
}

function updatePlaylist(ctx: Ctx): Answer {
  const data = jsonObject(ctx);
  const row = getOr404(ctx.state.playlists, ctx.params.id, 'Playlist');
  if (!canUpdatePlaylist(ctx.state, ctx.user, row)) throw forbidden();
  if (
    data.for_entity !== undefined &&
    data.for_entity !== null &&
    (typeof data.for_entity !== 'string' || !FOR_ENTITY.includes(data.for_entity))
  ) {
    throw badRequest(`for_entity must be one of ${FOR_ENTITY.join(', ')}`);
  }
  const next = { ...row };
  if (data.name !== undefined) {
    if (typeof data.name !== 'string') throw dbError(DB_FORMAT_ERROR);
    next.name = data.name;
  }
  if (data.shots !== undefined) next.shots = checkShots(ctx.state, data.shots);
  if (typeof data.for_client === 'boolean') next.for_client = data.for_client;
  if (typeof data.for_entity === 'string') next.for_entity = data.for_entity;
  if (data.task_type_id !== undefined) {
    next.task_type_id = isValidId(data.task_type_id) ? normalizeId(data.task_type_id) : null;
  }
  if (sameNameExists(ctx.state, next)) throw dbError(DUPLICATE);
  next.updated_at = nowString(ctx);
  ctx.state.playlists.set(row.id, next);
  return ok(serialize(next, false));
}

// ---------------------------------------------------------------- time spents

/**
 * ProductionTimeSpentsResource: one unpaged list; project access (an admin's request never reads the
 * project: an unknown one is an empty list), clients refused, vendors reading all of it.
 */
function projectTimeSpents(ctx: Ctx): Answer {
  const { state, user } = ctx;
  if (!isAdmin(user)) {
    const project = findOr404(state.projects, ctx.params.id, 'Project');
    if (!onTeam(state, user, project.id)) throw forbidden();
    if (user.role === 'client') throw forbidden();
  }
  const projectId = isValidId(ctx.params.id) ? normalizeId(ctx.params.id) : '';
  const rows = [...state.timeSpents.values()].filter(
    (t) => state.tasks.get(t.task_id)?.project_id === projectId,
  );
  return ok(rows.map((row) => serialize(row, true)));
}

/** GetTimeSpentResource: check_task_access, then `{ total, <person id>: [time spents] }`. */
function taskTimeSpents(ctx: Ctx): Answer {
  const task = getTaskOfRoute(ctx);
  const out: Record<string, unknown> = { total: 0 };
  let total = 0;
  for (const row of ctx.state.timeSpents.values()) {
    if (row.task_id !== task.id) continue;
    const list = (out[row.person_id] ??= []) as Record<string, unknown>[];
    list.push(serialize(row, true));
    total += row.duration;
  }
  out.total = total;
  return ok(out);
}

// ---------------------------------------------------------------- the table

const GET = 'GET' as const;

/** A reference list anyone logged in reads whole, and its rows by id. */
function referenceRoutes<T extends { id: string; type: string; updated_at: string }>(
  model: string,
  table: (state: FakeZouState) => Map<string, T>,
  what: string,
): Route[] {
  return [
    {
      method: GET,
      path: `/data/${model}`,
      auth: 'access',
      handle: (ctx) => listRows(ctx, table(ctx.state).values(), () => true),
    },
    {
      method: GET,
      path: `/data/${model}/:id`,
      auth: 'access',
      handle: (ctx) => ok(serialize(getOr404(table(ctx.state), ctx.params.id, what), true)),
    },
  ];
}

export const routes: Route[] = [
  { method: 'POST', path: '/auth/login', auth: 'none', body: 'silent', handle: login },
  {
    method: GET,
    path: '/auth/refresh-token',
    auth: 'refresh',
    handle: (ctx) => {
      // require_person: a bot's token (never a refresh token anyway) cannot be refreshed.
      if (ctx.user.is_bot) throw forbidden();
      return refreshToken(ctx);
    },
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
    handle: listPersons,
  },
  {
    method: GET,
    path: '/data/persons/:id',
    auth: 'access',
    handle: getPerson,
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
  { method: GET, path: '/data/projects/:id/time-spents', auth: 'access', handle: projectTimeSpents },
  { method: GET, path: '/actions/tasks/:id/time-spents', auth: 'access', handle: taskTimeSpents },
  {
    method: GET,
    path: '/data/tasks',
    auth: 'access',
    handle: (ctx) => {
      const answer = listRows(ctx, ctx.state.tasks.values(), (t) => listsTask(ctx.state, ctx.user, t));
      return { ...answer, body: mapListed(answer.body, (row) => blankForClient(ctx.user, row)) };
    },
  },
  {
    method: GET,
    path: '/data/tasks/:id',
    auth: 'access',
    handle: (ctx) => ok(blankForClient(ctx.user, serialize(getTask(ctx), boolParam(ctx, 'relations', true)))),
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
    handle: (ctx) => {
      const entity = getEntity(ctx, kind);
      return ok(kind === 'Asset' ? fullAsset(entity) : serialize(entity, true));
    },
  })),
  {
    method: GET,
    path: '/data/entity-types',
    auth: 'access',
    handle: (ctx) => listRows(ctx, ctx.state.entityTypes.values(), () => true),
  },
  ...referenceRoutes('task-types', (state) => state.taskTypes, 'Task type'),
  ...referenceRoutes('task-status', (state) => state.taskStatuses, 'Task status'),
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
      if (!canUpdatePlaylist(ctx.state, ctx.user, row)) throw forbidden();
      ctx.state.playlists.delete(row.id);
      return { status: 204 };
    },
  },
];
