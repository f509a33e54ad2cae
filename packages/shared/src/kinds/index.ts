import { z } from 'zod';
import { debug } from './debug.ts';
import type { KindManifest, QueueName } from './define.ts';
import { launch } from './launch.ts';
import { renderCgru } from './render-cgru.ts';
import { renderFlamenco } from './render-flamenco.ts';
import { script } from './script.ts';
import { stats } from './stats.ts';
import { webhook } from './webhook.ts';

/**
 * The job registry: the list of every action kind's manifest. Adding a kind touches exactly:
 *   1. packages/shared/src/kinds/<kind>.ts, its manifest (defineKind);
 *   2. one line in `kindManifests` below, with its import;
 *   3. apps/worker/src/handlers/<kind>/, its handler;
 *   4. one line in apps/worker/src/handlers/index.ts, with its import.
 * Everything else (the catalogue, the receiver, queues, the status view, listings, the Kitsu comment, the
 * farm check at start-up) reads the manifest. A kind left out of the handler map, a handler returning
 * another result, or a result without a summary does not compile.
 */
export const kindManifests = [debug, renderFlamenco, renderCgru, stats, launch, webhook, script] as const;

type Manifests = (typeof kindManifests)[number];
export type JobKind = Manifests['kind'];
export type ManifestOf<K extends JobKind> = Extract<Manifests, { kind: K }>;
export const JobKind = z.enum(kindManifests.map((manifest) => manifest.kind) as [JobKind, ...JobKind[]]);
export type KindOptions<K extends JobKind> = z.infer<ManifestOf<K>['options']>;
export type KindResult<K extends JobKind> = z.infer<ManifestOf<K>['result']>;

/** The manifests by kind. */
export const jobKinds = Object.fromEntries(kindManifests.map((manifest) => [manifest.kind, manifest])) as {
  [K in JobKind]: ManifestOf<K>;
};

/**
 * Each kind's schemas, typed by kind: code generic over a kind K parses into KindOptions<K> and
 * KindResult<K> (indexing `jobKinds` with K would give every kind's types at once).
 */
export const kindSchemas: {
  [K in JobKind]: { options: z.ZodType<KindOptions<K>>; result: z.ZodType<KindResult<K>> };
} = jobKinds;

/** A kind's manifest, typed for code that handles every kind alike. */
export function manifestOf(kind: JobKind): KindManifest {
  return jobKinds[kind];
}

export function queuesOfKinds(kinds: Iterable<JobKind>): QueueName[] {
  return [...new Set([...kinds].map((kind) => jobKinds[kind].queue))];
}
