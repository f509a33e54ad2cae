import { z } from 'zod';

// Zou answers are parsed with loose objects: unknown fields are kept, so a newer Zou adding fields never
// breaks us, and callers can still reach a field this file does not name.
// Ids are kept as plain strings here: Zou only emits UUIDs, and ids we *send* are checked in client.ts.

const Id = z.string();
// Zou serializes DateTime columns as ISO strings without a zone ("2024-03-01T09:30:00").
const DateTime = z.string();
const JsonData = z.record(z.string(), z.unknown());

export const PersonRole = z.enum(['admin', 'manager', 'supervisor', 'user', 'client', 'vendor']);
export type PersonRole = z.infer<typeof PersonRole>;

export const Person = z.looseObject({
  id: Id,
  // Null for bots; absent from `/data/persons` for non-admins (Zou sends them a minimal person).
  email: z.string().nullable().optional(),
  first_name: z.string(),
  last_name: z.string(),
  full_name: z.string().optional(),
  role: PersonRole,
  is_bot: z.boolean().optional(),
  active: z.boolean().optional(),
  desktop_login: z.string().nullable().optional(),
});
export type Person = z.infer<typeof Person>;

export const Project = z.looseObject({
  id: Id,
  name: z.string(),
  code: z.string().nullable().optional(),
  // Zou stores fps as a string column ("25", "23.976").
  fps: z.string().nullable(),
  ratio: z.string().nullable().optional(),
  resolution: z.string().nullable().optional(),
  production_type: z.string().nullable().optional(),
  project_status_id: Id.nullable().optional(),
  // Present on single-object GETs and on lists with ?relations=true only.
  team: z.array(Id).optional(),
  task_types: z.array(Id).optional(),
  task_statuses: z.array(Id).optional(),
  asset_types: z.array(Id).optional(),
  data: JsonData.nullable().optional(),
});
export type Project = z.infer<typeof Project>;

export const Task = z.looseObject({
  id: Id,
  name: z.string(),
  project_id: Id,
  entity_id: Id,
  task_type_id: Id,
  task_status_id: Id,
  // Present on single-object GETs, project task lists and lists with ?relations=true only.
  assignees: z.array(Id).optional(),
  assigner_id: Id.nullable().optional(),
  // Minutes (Zou stores floats).
  estimation: z.number().nullable(),
  duration: z.number().nullable(),
  retake_count: z.number().int().nullable(),
  priority: z.number().int().nullable().optional(),
  start_date: DateTime.nullable(),
  due_date: DateTime.nullable(),
  end_date: DateTime.nullable(),
  real_start_date: DateTime.nullable(),
  done_date: DateTime.nullable().optional(),
  last_comment_date: DateTime.nullable().optional(),
  last_preview_file_id: Id.nullable(),
  data: JsonData.nullable().optional(),
  created_at: DateTime.optional(),
  updated_at: DateTime,
});
export type Task = z.infer<typeof Task>;

/**
 * The fields of a task that counts and sums are made of, read without the rest: a report over a whole
 * production neither checks nor keeps a task's other dates, its name or its free data.
 */
export const TaskFigures = z.object({
  id: Task.shape.id,
  project_id: Task.shape.project_id,
  entity_id: Task.shape.entity_id,
  task_type_id: Task.shape.task_type_id,
  task_status_id: Task.shape.task_status_id,
  assignees: Task.shape.assignees,
  estimation: Task.shape.estimation,
  duration: Task.shape.duration,
  retake_count: Task.shape.retake_count,
  due_date: Task.shape.due_date,
  end_date: Task.shape.end_date,
  done_date: Task.shape.done_date,
});
export type TaskFigures = z.infer<typeof TaskFigures>;

export const Entity = z.looseObject({
  id: Id,
  name: z.string(),
  code: z.string().nullable().optional(),
  description: z.string().nullable().optional(),
  entity_type_id: Id,
  // Shot -> sequence, sequence -> episode; null for assets and top-level entities.
  parent_id: Id.nullable(),
  project_id: Id,
  canceled: z.boolean().optional(),
  // Shots only; null elsewhere. `/data/assets/<id>` leaves the field out altogether.
  nb_frames: z.number().int().nullable().default(null),
  // Free metadata. For shots Kitsu keeps frame_in, frame_out and fps here, as numbers or strings.
  data: JsonData.nullable(),
  // `/data/assets/<id>` answers "" for an asset without preview: read as null.
  preview_file_id: Id.nullable().transform((id) => (id === '' ? null : id)),
  source_id: Id.nullable().optional(),
  // "Shot", "Sequence", "Episode", "Asset", "Edit"... (Zou adds it on serialization).
  type: z.string().optional(),
  updated_at: DateTime.optional(),
});
export type Entity = z.infer<typeof Entity>;

export const EntityType = z.looseObject({
  id: Id,
  name: z.string(),
});
export type EntityType = z.infer<typeof EntityType>;

export const TaskType = z.looseObject({
  id: Id,
  name: z.string(),
  short_name: z.string().nullable().optional(),
  color: z.string().nullable().optional(),
  priority: z.number().int().nullable().optional(),
  // "Asset", "Shot", "Sequence", "Episode", "Edit", "Concept".
  for_entity: z.string().nullable().optional(),
  department_id: Id.nullable().optional(),
  archived: z.boolean().optional(),
});
export type TaskType = z.infer<typeof TaskType>;

export const TaskStatus = z.looseObject({
  id: Id,
  name: z.string(),
  short_name: z.string(),
  color: z.string().nullable().optional(),
  is_done: z.boolean().optional(),
  is_retake: z.boolean().optional(),
  is_wip: z.boolean().optional(),
  is_feedback_request: z.boolean().optional(),
  is_default: z.boolean().optional(),
  is_artist_allowed: z.boolean().optional(),
  is_client_allowed: z.boolean().optional(),
  archived: z.boolean().optional(),
});
export type TaskStatus = z.infer<typeof TaskStatus>;

export const PreviewFile = z.looseObject({
  id: Id,
  name: z.string().nullable().optional(),
  original_name: z.string().nullable().optional(),
  revision: z.number().int(),
  position: z.number().int().nullable().optional(),
  extension: z.string().nullable().optional(),
  status: z.string().nullable().optional(),
  validation_status: z.string().nullable().optional(),
  task_id: Id.nullable(),
  person_id: Id.nullable().optional(),
  width: z.number().int().nullable().optional(),
  height: z.number().int().nullable().optional(),
  duration: z.number().nullable().optional(),
  created_at: DateTime.optional(),
});
export type PreviewFile = z.infer<typeof PreviewFile>;

export const Comment = z.looseObject({
  id: Id,
  object_id: Id,
  object_type: z.string().optional(),
  person_id: Id.nullable(),
  task_status_id: Id,
  // Zou stores the comment body as `text`.
  text: z.string().nullable(),
  created_at: DateTime.optional(),
});
export type Comment = z.infer<typeof Comment>;

export const PlaylistShot = z.looseObject({
  entity_id: Id,
  preview_file_id: Id.nullable().optional(),
});
export type PlaylistShot = z.infer<typeof PlaylistShot>;

export const PlaylistForEntity = z.enum(['shot', 'asset', 'sequence', 'edit']);
export type PlaylistForEntity = z.infer<typeof PlaylistForEntity>;

export const Playlist = z.looseObject({
  id: Id,
  name: z.string(),
  project_id: Id,
  episode_id: Id.nullable(),
  task_type_id: Id.nullable().optional(),
  for_client: z.boolean().nullable().optional(),
  for_entity: z.string().nullable().optional(),
  is_for_all: z.boolean().nullable().optional(),
  shots: z.array(PlaylistShot).nullable().optional(),
  created_at: DateTime.optional(),
  updated_at: DateTime.optional(),
});
export type Playlist = z.infer<typeof Playlist>;

export const CustomAction = z.looseObject({
  id: Id,
  name: z.string(),
  url: z.string().nullable(),
  entity_type: z.string().nullable(),
  is_ajax: z.boolean().nullable(),
});
export type CustomAction = z.infer<typeof CustomAction>;

export const TimeSpent = z.looseObject({
  id: Id,
  task_id: Id,
  person_id: Id,
  // The day worked, "2025-03-10".
  date: z.string(),
  // Minutes (Zou stores floats).
  duration: z.number(),
  created_at: DateTime.optional(),
  updated_at: DateTime.optional(),
});
export type TimeSpent = z.infer<typeof TimeSpent>;

/**
 * `/actions/tasks/<id>/time-spents`: `{ total, <person id>: TimeSpent[] }`, read as the list of its time
 * spents (the total is their sum).
 */
export const TaskTimeSpents = z
  .object({ total: z.number() })
  .catchall(z.array(TimeSpent))
  .transform((answer) =>
    Object.entries(answer).flatMap(([key, value]) => (key === 'total' || !Array.isArray(value) ? [] : value)),
  );
export type TaskTimeSpents = z.infer<typeof TaskTimeSpents>;

/** Zou's paged list: `?page=N` (N >= 1) on list routes. */
export function Paged<T extends z.ZodType>(item: T) {
  return z.looseObject({
    data: z.array(item),
    total: z.number().int(),
    nb_pages: z.number().int(),
    limit: z.number().int(),
    offset: z.number().int(),
    page: z.number().int(),
  });
}
export type Paged<T> = {
  data: T[];
  total: number;
  nb_pages: number;
  limit: number;
  offset: number;
  page: number;
};

/** `/data/tasks/<id>/full`: the task with its relations inlined (assignees as `persons`). */
export const TaskFull = Task.extend({
  assignees: z.array(Id),
  entity: Entity,
  entity_type: EntityType,
  project: Project,
  task_type: TaskType,
  task_status: TaskStatus,
  persons: z.array(Person),
  assigner: Person.optional(),
  sequence: Entity.optional(),
  episode: Entity.optional(),
});
export type TaskFull = z.infer<typeof TaskFull>;

export const LoginResponse = z.looseObject({
  login: z.literal(true),
  access_token: z.string(),
  refresh_token: z.string(),
  user: Person,
});
export type LoginResponse = z.infer<typeof LoginResponse>;

export const RefreshResponse = z.looseObject({
  access_token: z.string(),
});
export type RefreshResponse = z.infer<typeof RefreshResponse>;

export const AuthenticatedResponse = z.looseObject({
  authenticated: z.literal(true),
  user: Person,
});
export type AuthenticatedResponse = z.infer<typeof AuthenticatedResponse>;

/** Zou's error body: `{ error: true, message }`; flask-jwt-extended's own errors use `{ msg }`. */
export const ZouErrorBody = z.looseObject({
  error: z.boolean().optional(),
  message: z.string().optional(),
  msg: z.string().optional(),
});
export type ZouErrorBody = z.infer<typeof ZouErrorBody>;

export const CommentInput = z.object({
  task_status_id: z.string(),
  comment: z.string(),
});
export type CommentInput = z.infer<typeof CommentInput>;

export const CommentManyItem = z.object({
  object_id: z.string(),
  task_status_id: z.string(),
  comment: z.string(),
});
export type CommentManyItem = z.infer<typeof CommentManyItem>;

const customActionFields = {
  name: z.string().min(1).max(80),
  url: z.string().max(400),
  entity_type: z.string(),
  is_ajax: z.boolean(),
};

export const CustomActionInput = z.object({
  ...customActionFields,
  entity_type: customActionFields.entity_type.default('all'),
  is_ajax: customActionFields.is_ajax.default(false),
});
export type CustomActionInput = z.input<typeof CustomActionInput>;

/** Only the fields given are sent: defaults here would reset what an update leaves out. */
export const CustomActionUpdate = z.object(customActionFields).partial();
export type CustomActionUpdate = z.input<typeof CustomActionUpdate>;

export const PlaylistInput = z.object({
  name: z.string().min(1),
  project_id: z.string(),
  episode_id: z.string().nullable().optional(),
  for_client: z.boolean().default(false),
  for_entity: PlaylistForEntity.default('shot'),
  is_for_all: z.boolean().default(false),
  task_type_id: z.string().nullable().optional(),
});
export type PlaylistInput = z.input<typeof PlaylistInput>;

export const PlaylistUpdate = z.object({
  name: z.string().min(1).optional(),
  shots: z.array(z.object({ entity_id: z.string(), preview_file_id: z.string().nullable() })).optional(),
  for_client: z.boolean().optional(),
  task_type_id: z.string().nullable().optional(),
});
export type PlaylistUpdate = z.input<typeof PlaylistUpdate>;
