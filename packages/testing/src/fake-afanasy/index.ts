export { startFakeAfanasy } from './server.ts';
export type { FakeAfanasy, FakeAfanasyControl, FakeAfanasyOptions } from './server.ts';
export type {
  AfanasyFraming,
  AfanasyRequestLogEntry,
  AfanasySubmission,
  AfanasyTaskState,
  FakeAfanasyBlock,
  FakeAfanasyJob,
  FakeAfanasyState,
  FakeAfanasyTask,
} from './model.ts';
