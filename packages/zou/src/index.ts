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
// Every error class and every Zou schema (each a zod schema and its type of the same name) is public.
export * from './errors.ts';
export * from './schemas.ts';
export { botZouClient } from './bot.ts';
