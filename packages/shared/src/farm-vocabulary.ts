/**
 * The words every part of the render path shares, said once: the catalogue's render options, a render
 * job's result and the worker's farm adapters all take them from here.
 */
import { z } from 'zod';

/** The render farms the worker can drive. */
export const FarmKind = z.enum(['flamenco', 'afanasy']);
export type FarmKind = z.infer<typeof FarmKind>;

/** How each farm is named in messages and on status pages. */
export const farmNames: Readonly<Record<FarmKind, string>> = { flamenco: 'Flamenco', afanasy: 'Afanasy' };

/** Our view of a farm job's state, per shot; each farm's own states are mapped onto these five. */
export const FarmJobState = z.enum(['queued', 'active', 'completed', 'failed', 'cancelled']);
export type FarmJobState = z.infer<typeof FarmJobState>;

/** States a farm job never leaves. */
export const finalFarmStates: ReadonlySet<FarmJobState> = new Set(['completed', 'failed', 'cancelled']);

/** How Afanasy (CGRU) cancels: `delete` removes the job, `stop` stops its tasks and leaves it offline. */
export const FarmCancelMode = z.enum(['delete', 'stop']);
export type FarmCancelMode = z.infer<typeof FarmCancelMode>;

/** The platform a Flamenco job says it was submitted from (the Manager maps its paths by it). */
export const SubmitterPlatform = z.enum(['linux', 'windows', 'darwin']);
export type SubmitterPlatform = z.infer<typeof SubmitterPlatform>;
