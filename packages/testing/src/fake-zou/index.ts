export { startFakeZou } from './server.ts';
export type {
  FailOptions,
  FakeZou,
  FakeZouControl,
  FakeZouOptions,
  FakeZouSeed,
  RouteMatcher,
} from './server.ts';
export { buildSeed, seededUuid, seedPassword } from './seed.ts';
export type { HumanKey, PersonKey, Seed, SeedIds, SeedOptions } from './seed.ts';
export type {
  CommentRow,
  CustomActionRow,
  EntityRow,
  FakeZouState,
  PersonRow,
  PlaylistRow,
  PreviewFileRow,
  ProjectRow,
  RequestLogEntry,
  Role,
  TaskRow,
  TaskStatusRow,
  TaskTypeRow,
} from './model.ts';
