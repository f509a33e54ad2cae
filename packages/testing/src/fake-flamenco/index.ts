export { startFakeFlamenco } from './server.ts';
export type {
  FakeFlamenco,
  FakeFlamencoControl,
  FakeFlamencoOptions,
  FlamencoRouteMatcher,
} from './server.ts';
export type {
  FakeFlamencoJob,
  FakeFlamencoJobType,
  FakeFlamencoState,
  FakeFlamencoTask,
  FlamencoJobStatus,
  FlamencoRequestLogEntry,
  FlamencoSubmission,
  FlamencoTaskStatus,
} from './model.ts';
