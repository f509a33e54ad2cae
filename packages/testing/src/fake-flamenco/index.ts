export { startFakeFlamenco } from './server.ts';
export type {
  FakeFlamenco,
  FakeFlamencoControl,
  FakeFlamencoOptions,
  FlamencoAnswerMatcher,
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
