import type { JobStore } from '../src/job-store.ts';

/**
 * A job store in memory, for a handler run outside a worker: one run at a time, so `exclusive` just
 * runs its step. `overrides` replace single methods (a write that fails, a cancel already asked for).
 */
export function memoryJobStore(
  records: Map<string, string> = new Map(),
  overrides: Partial<JobStore> = {},
): JobStore {
  return {
    read: () => Promise.resolve(Object.fromEntries(records)),
    write: (field, value) => {
      records.set(field, value);
      return Promise.resolve();
    },
    cancelRequest: () => Promise.resolve(undefined),
    exclusive: (_name, step) => step(),
    ...overrides,
  };
}
