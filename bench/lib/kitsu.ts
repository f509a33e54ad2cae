import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { JobsOptions } from 'bullmq';
import {
  jobDataOf,
  jobKinds,
  normalizeKitsuRequest,
  parseCatalogue,
  type CatalogueAction,
  type JobData,
  type RequestMode,
} from '@kitsu-actions/shared';
import { bindCaller } from './apps.ts';
import { repoRoot } from './hosts.ts';

export const kitsuOrigin = 'https://kitsu.studio.example';

/** `debug` as Kitsu's form mode posts it; `debug-background` for the AJAX requests. */
export const benchCatalogueYaml = `
actions:
  - { id: debug, name: Debug selection, kind: debug }
  - { id: debug-background, name: Debug in background, kind: debug, entityType: shot, ajax: true }
`;

export interface Fixture {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

/** A recorded Kitsu request from packages/testing/fixtures/kitsu/. */
export function fixture(name: 'ajax-shots' | 'form-assets'): Fixture {
  const file = path.join(repoRoot, 'packages/testing/fixtures/kitsu', `${name}.json`);
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as Fixture;
  return { method: parsed.method, path: parsed.path, headers: parsed.headers, body: parsed.body };
}

/** The environment of a receiver host: real validation, real Redis, dedup off, logs as in production. */
export function receiverEnv(redisUrl: string, prefix: string): Record<string, string> {
  return {
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: prefix,
    DEDUP_WINDOW_MS: '0',
    // One client address sends every request: limits that never trip, still counted in Redis as in production.
    RATE_LIMIT_PER_ADDRESS: '1000000000',
    RATE_LIMIT_PER_PERSON: '1000000000',
    // No Kitsu here: requests are trusted as sent, as in the tests' harness.
    AUTH_MODE: 'none',
    KITSU_ORIGINS: kitsuOrigin,
    // The default level; the host's stdout goes to /dev/null, so this costs what pino costs.
    LOG_LEVEL: 'info',
    BENCH_CATALOGUE: benchCatalogueYaml,
  };
}

export function benchAction(id: 'debug' | 'debug-background'): CatalogueAction {
  const action = parseCatalogue(benchCatalogueYaml, 'bench catalogue').actions.find(
    (entry) => entry.id === id,
  );
  if (!action) throw new Error(`no ${id} in the bench catalogue`);
  return action;
}

/**
 * The job the receiver makes of the AJAX fixture (same request, action snapshot and raw request, built
 * with the same shared code), for the baselines that add jobs with BullMQ directly.
 */
export function ajaxJobData(): JobData {
  const shots = fixture('ajax-shots');
  const action = benchAction('debug-background');
  const fields = JSON.parse(shots.body) as Record<string, unknown>;
  const mode: RequestMode = 'ajax';
  // As the receiver binds it under AUTH_MODE=none (the bench's).
  const request = bindCaller(
    normalizeKitsuRequest(fields, {
      actionId: action.id,
      actionName: action.name,
      requirePerson: true,
      mode,
      maxSelection: 5000,
      receivedAt: new Date(),
    }),
    { mode: 'none' },
  );
  const headers: Record<string, string> = { host: '127.0.0.1' };
  for (const [name, value] of Object.entries(shots.headers)) {
    if (name.toLowerCase() !== 'cookie') headers[name.toLowerCase()] = value;
  }
  headers['content-length'] = String(Buffer.byteLength(shots.body));
  return jobDataOf(action, request, {
    method: 'POST',
    url: `/actions/${action.id}`,
    headers,
    contentType: shots.headers['Content-Type'] ?? 'application/json',
    body: shots.body,
    fields,
  });
}

/** BullMQ options as JobQueues.enqueue sets them for a debug job (dedup off). */
export function debugJobOptions(): JobsOptions {
  return { jobId: `pages-${randomUUID()}`, ...jobKinds.debug.jobOptions };
}
