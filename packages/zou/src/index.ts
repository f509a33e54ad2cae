export { createZouClient } from './client.ts';
export type {
  AuthenticatedResult,
  CommentManyOptions,
  CreatePlaylistOptions,
  GetTasksOptions,
  ListProjectTasksOptions,
  TaskBatch,
  ZouClient,
  ZouClientOptions,
  ZouEntityKind,
} from './client.ts';
export type { ZouAuth, ZouLogger } from './transport.ts';
export { parseRetryAfter } from '@kitsu-actions/shared';
export {
  ZouAuthError,
  ZouError,
  ZouNetworkError,
  ZouPlaylistExistsError,
  ZouResponseError,
} from './errors.ts';
export type { ZouErrorInit } from './errors.ts';
export {
  AuthenticatedResponse,
  Comment,
  CommentInput,
  CommentManyItem,
  CustomAction,
  CustomActionInput,
  CustomActionUpdate,
  Entity,
  EntityType,
  LoginResponse,
  Paged,
  Person,
  PersonRole,
  Playlist,
  PlaylistForEntity,
  PlaylistInput,
  PlaylistShot,
  PlaylistUpdate,
  PreviewFile,
  Project,
  RefreshResponse,
  Task,
  TaskFull,
  TaskStatus,
  TaskTimeSpents,
  TaskType,
  TimeSpent,
  ZouErrorBody,
} from './schemas.ts';
export { botZouClient } from './bot.ts';
