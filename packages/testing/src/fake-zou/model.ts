// Rows of the fake Zou, with Zou's own field names (what `Model.serialize()` emits), so a handler can send
// them as they are. Relation fields (project `team`, task `assignees`...) are stripped from plain lists.

export type Role = 'admin' | 'manager' | 'supervisor' | 'user' | 'client' | 'vendor';

export interface PersonRow {
  id: string;
  type: 'Person';
  first_name: string;
  last_name: string;
  full_name: string;
  email: string | null;
  role: Role;
  is_bot: boolean;
  active: boolean;
  archived: boolean;
  desktop_login: string | null;
  phone: string | null;
  timezone: string;
  locale: string;
  has_avatar: boolean;
  departments: string[];
  data: Record<string, unknown> | null;
  created_at: string;
  updated_at: string;
}

export interface ProjectRow {
  id: string;
  type: 'Project';
  name: string;
  code: string | null;
  description: string | null;
  fps: string | null;
  ratio: string | null;
  resolution: string | null;
  production_type: string;
  production_style: string;
  project_status_id: string;
  start_date: string | null;
  end_date: string | null;
  max_retakes: number;
  is_clients_isolated: boolean;
  data: Record<string, unknown> | null;
  team: string[];
  task_types: string[];
  task_statuses: string[];
  asset_types: string[];
  created_at: string;
  updated_at: string;
}

export interface EntityTypeRow {
  id: string;
  type: 'EntityType';
  name: string;
  created_at: string;
  updated_at: string;
}

export type EntityKind = 'Episode' | 'Sequence' | 'Shot' | 'Asset';

export interface EntityRow {
  id: string;
  type: EntityKind;
  name: string;
  code: string | null;
  description: string | null;
  canceled: boolean;
  nb_frames: number | null;
  nb_entities_out: number;
  is_casting_standby: boolean;
  status: string;
  project_id: string;
  entity_type_id: string;
  parent_id: string | null;
  source_id: string | null;
  preview_file_id: string | null;
  data: Record<string, unknown> | null;
  ready_for: string | null;
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

export interface TaskTypeRow {
  id: string;
  type: 'TaskType';
  name: string;
  short_name: string;
  color: string;
  priority: number;
  for_entity: 'Asset' | 'Shot' | 'Sequence' | 'Episode' | 'Edit';
  allow_timelog: boolean;
  archived: boolean;
  department_id: string | null;
  created_at: string;
  updated_at: string;
}

export interface TaskStatusRow {
  id: string;
  type: 'TaskStatus';
  name: string;
  short_name: string;
  color: string;
  priority: number;
  is_done: boolean;
  is_artist_allowed: boolean;
  is_client_allowed: boolean;
  is_retake: boolean;
  is_feedback_request: boolean;
  is_default: boolean;
  is_wip: boolean;
  for_concept: boolean;
  archived: boolean;
  created_at: string;
  updated_at: string;
}

export interface TaskRow {
  id: string;
  type: 'Task';
  name: string;
  description: string | null;
  priority: number;
  difficulty: number;
  /** Minutes. */
  duration: number;
  /** Minutes. */
  estimation: number;
  completion_rate: number;
  retake_count: number;
  sort_order: number;
  start_date: string | null;
  due_date: string | null;
  real_start_date: string | null;
  end_date: string | null;
  done_date: string | null;
  last_comment_date: string | null;
  nb_assets_ready: number;
  data: Record<string, unknown> | null;
  nb_drawings: number;
  last_preview_file_id: string | null;
  project_id: string;
  task_type_id: string;
  task_status_id: string;
  entity_id: string;
  assigner_id: string | null;
  assignees: string[];
  created_at: string;
  updated_at: string;
}

export interface PreviewFileRow {
  id: string;
  type: 'PreviewFile';
  name: string;
  original_name: string;
  revision: number;
  position: number;
  extension: string;
  status: string;
  validation_status: string;
  file_size: number;
  width: number;
  height: number;
  duration: number;
  task_id: string;
  person_id: string | null;
  comment_id: string | null;
  source: string;
  created_at: string;
  updated_at: string;
}

export interface CommentRow {
  id: string;
  type: 'Comment';
  object_id: string;
  object_type: 'Task';
  person_id: string;
  task_status_id: string;
  text: string;
  checklist: unknown[];
  links: string[];
  /** Null until someone pins or unpins it (Zou's column has no default). */
  pinned: boolean | null;
  created_at: string;
  updated_at: string;
}

export interface PlaylistShotRow {
  entity_id: string;
  preview_file_id: string | null;
  [key: string]: unknown;
}

export interface PlaylistRow {
  id: string;
  type: 'Playlist';
  name: string;
  project_id: string;
  episode_id: string | null;
  task_type_id: string | null;
  for_client: boolean;
  for_entity: string;
  is_for_all: boolean;
  /** Null until entries are set (Zou's column default). */
  shots: PlaylistShotRow[] | null;
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

export interface CustomActionRow {
  id: string;
  type: 'CustomAction';
  name: string;
  url: string | null;
  entity_type: string;
  is_ajax: boolean;
  created_at: string;
  updated_at: string;
}

export interface TimeSpentRow {
  id: string;
  type: 'TimeSpent';
  task_id: string;
  person_id: string;
  /** The day worked: "2025-03-10". */
  date: string;
  /** Minutes. */
  duration: number;
  created_at: string;
  updated_at: string;
}

/** Fields each model only shows on single GETs or with `?relations=true`. */
export const RELATION_FIELDS = {
  Project: ['team', 'task_types', 'task_statuses', 'asset_types'],
  Task: ['assignees'],
  Person: ['departments'],
} as const;

export interface RequestLogEntry {
  method: string;
  /** Path as received, prefix included (`/api/data/tasks/<id>`). */
  path: string;
  /** Query string without `?` ('' when none). */
  query: string;
  status: number;
  /** Who the token belonged to, when a valid one was sent. */
  personId: string | null;
  /** How the access token came: Kitsu's `access_token_cookie`, an `Authorization: Bearer` header, or not. */
  credential: 'cookie' | 'bearer' | null;
  /** True when the answer came from `control.failNext`. */
  injected: boolean;
}

/** Everything the fake holds. Tests read it (and may change it) directly. */
export interface FakeZouState {
  persons: Map<string, PersonRow>;
  projects: Map<string, ProjectRow>;
  entityTypes: Map<string, EntityTypeRow>;
  entities: Map<string, EntityRow>;
  taskTypes: Map<string, TaskTypeRow>;
  taskStatuses: Map<string, TaskStatusRow>;
  tasks: Map<string, TaskRow>;
  previewFiles: Map<string, PreviewFileRow>;
  playlists: Map<string, PlaylistRow>;
  customActions: Map<string, CustomActionRow>;
  timeSpents: Map<string, TimeSpentRow>;
  /** Every comment written through the API, in order. */
  comments: CommentRow[];
  /** Every request answered, in order. */
  requests: RequestLogEntry[];
  /** Login passwords by person id (people without one cannot log in: bots). */
  passwords: Map<string, string>;
}
