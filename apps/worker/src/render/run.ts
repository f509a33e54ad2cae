import { UnrecoverableError } from 'bullmq';
import { z } from 'zod';
import {
  JobCancelled,
  cancelOf,
  cancelReasonPrefix,
  outcomeOfRequest,
  type CancelRequest,
  finalFarmStates,
  retrying,
  type JobKind,
  type Link,
  type RenderEntityType,
  type RenderResult,
  type RenderShotResult,
} from '@kitsu-actions/shared';
import {
  FarmJobGoneError,
  FarmJobRef,
  FarmRejectedError,
  FarmUnavailableError,
  type CancelOptions,
  type FarmJobStatus,
  type RenderFarm,
} from '../farms/index.ts';
import type { HandlerContext } from '../handlers/types.ts';
import { commentSubmitted } from './comments.ts';
import { buildAll, planShots, type ShotPlan } from './plan.ts';

/** What the handler records per shot, in the job's store: the key before submitting, the ref after. */
export const ShotRecord = z.object({ key: z.string(), ref: FarmJobRef.optional() });
export type ShotRecord = z.infer<typeof ShotRecord>;

const shotField = (taskId: string): string => `shot:${taskId}`;
const commentedField = 'commented:submitted';

/** The key written into the farm job: our job and the task, the same on every attempt and restart. */
export function submissionKey(jobId: string, taskId: string): string {
  return `${jobId}/${taskId}`;
}

export interface RenderSpec<J> {
  farm: RenderFarm<J> | undefined;
  /** `Flamenco`, `Afanasy`: for messages. */
  farmName: string;
  /** The setting that configures the farm, named when it is missing. */
  setting: string;
  allowEntityTypes: readonly RenderEntityType[];
  /** The farm job of one shot (templates filled in); the submission key is added by the farm adapter. */
  build(plan: ShotPlan, jobId: string): J;
  cancel: Omit<CancelOptions, 'signal' | 'reason'>;
}

type RenderKind = Extract<JobKind, `render.${string}`>;
type RenderContext = Omit<HandlerContext<RenderKind>, 'options'>;

/** Thrown inside the handler when a person's cancel is seen (signal or stored flag). */
class CancelSeen extends Error {
  constructor(readonly request: CancelRequest) {
    super(request.reason);
  }
}

interface Shot<J = unknown> {
  plan: ShotPlan;
  farmJob: J;
  key: string;
  /** The farm job, once recorded (by this run or an earlier one). */
  ref?: FarmJobRef | undefined;
  status?: FarmJobStatus;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * One farm job per selected shot, each submitted exactly once (the key is recorded before submitting,
 * the ref before tracking; a restart finds what an earlier run left), then tracked to the end.
 */
export async function runRender<J>(context: RenderContext, spec: RenderSpec<J>): Promise<RenderResult> {
  const { job, data, zou, signal, log, store, farms } = context;
  const farm = spec.farm;
  const jobId = job.id;
  if (jobId === undefined) throw new UnrecoverableError('The job has no id');
  if (farm === undefined) {
    throw new UnrecoverableError(
      `This worker has no ${spec.farmName} configured (${spec.setting} is not set), so "${data.action.name}" cannot run here.`,
    );
  }
  if (zou === undefined) {
    throw new UnrecoverableError(
      `"${data.action.name}" reads the shots from Kitsu, and this worker has no Kitsu configured: set KITSU_URL and KITSU_BOT_TOKEN on the worker.`,
    );
  }
  const farmWord = `${spec.farmName} at ${farm.url}`;
  let unreachableSince: number | undefined;
  let shots: Shot<J>[] = [];
  /** Where the job stands, repeated with every message while it waits on the farm. */
  let progressNow = 0;
  const linksNow = (): Link[] =>
    shots.flatMap((shot) =>
      shot.ref?.url === undefined
        ? []
        : [{ label: `${spec.farmName}: ${shot.plan.label}`, href: shot.ref.url }],
    );

  /** Runs a farm call, waiting out an unreachable farm up to FARM_UNREACHABLE_TIMEOUT_S. */
  const withFarm = async <T>(
    what: string,
    call: () => Promise<T>,
    options: { cancelJustChecked?: boolean } = {},
  ): Promise<T> =>
    retrying(
      async (attempt) => {
        // A tracking round reads the stored cancel once for all its shots; every retry reads it again.
        if (attempt > 1 || options.cancelJustChecked !== true) await throwIfCancelled();
        const result = await call();
        unreachableSince = undefined;
        return result;
      },
      {
        // Bounded by time, not attempts; a steady doubling from the poll interval, like the polls.
        retries: Infinity,
        baseDelayMs: farms.pollIntervalMs,
        maxDelayMs: farms.maxPollIntervalMs,
        jitter: false,
        signal,
        shouldRetry: (error) => {
          if (!(error instanceof FarmUnavailableError)) return 'give-up';
          unreachableSince ??= Date.now();
          if (Date.now() - unreachableSince >= farms.unreachableTimeoutMs) return 'give-up';
          // Stryker disable next-line StringLiteral: equivalent, retrying retries on any verdict but 'give-up' (or a retry-after)
          return 'retry';
        },
        onRetry: async ({ error, waitMs }) => {
          log.warn({ err: error, what, waitMs }, 'farm unreachable; retrying');
          await context.progress(progressNow, `${farmWord} is unreachable (${what}); retrying`, linksNow());
        },
        giveUp: (error) => {
          if (error instanceof FarmRejectedError && !(error instanceof FarmJobGoneError)) {
            return new UnrecoverableError(error.message);
          }
          if (!(error instanceof FarmUnavailableError)) return error;
          const downMs = Date.now() - (unreachableSince ?? Date.now());
          return new UnrecoverableError(
            `${farmWord} stayed unreachable for ${Math.round(downMs / 1000)} s (${what}): ${error.message}`,
          );
        },
      },
    );

  const throwIfCancelled = async (): Promise<void> => {
    const fromSignal = cancelOf(signal);
    if (fromSignal !== undefined) throw new CancelSeen(fromSignal);
    const stored = await store.cancelRequest();
    if (stored !== undefined) throw new CancelSeen(stored);
  };

  try {
    await context.progress(0, 'Reading the shots from Kitsu');
    const batch = await zou.getTasks(data.request.taskIds, { signal });
    const plans = planShots({
      batch,
      request: data.request,
      jobId,
      actionId: data.action.id,
      actionName: data.action.name,
      allowEntityTypes: spec.allowEntityTypes,
    });
    const built = buildAll(plans, (plan) => spec.build(plan, jobId));
    const recorded = await store.read();
    shots = built.map(({ plan, farmJob }) => {
      const record = ShotRecord.safeParse(JSON.parse(recorded[shotField(plan.task.id)] ?? 'null'));
      const shot: Shot<J> = { plan, farmJob, key: submissionKey(jobId, plan.task.id) };
      if (record.success) shot.ref = record.data.ref;
      return shot;
    });
    const keyRecorded = (shot: Shot<J>): boolean => recorded[shotField(shot.plan.task.id)] !== undefined;

    // Dry runs first: a job the farm refuses stops the whole selection before anything is submitted.
    const fresh = shots.filter((shot) => !keyRecorded(shot));
    for (const [index, shot] of fresh.entries()) {
      await context.progress(0, `Checking ${index + 1} of ${fresh.length} jobs with ${farmWord}`);
      await withFarm(`checking ${shot.plan.label}`, () => farm.check(shot.farmJob, { signal }));
    }

    for (const [index, shot] of shots.entries()) {
      if (shot.ref !== undefined) continue;
      const field = shotField(shot.plan.task.id);
      const write = (record: ShotRecord): Promise<void> => store.write(field, JSON.stringify(record));
      await context.progress(
        0,
        `Submitting ${index + 1} of ${shots.length} shots to ${farmWord}`,
        linksNow(),
      );
      // One run at a time per shot: a run of this job that overlaps (its lock lost) waits, then finds the
      // ref this one recorded, rather than looking up a farm job whose submit is still in flight.
      const ref = await store.exclusive(
        field,
        async () => {
          const now = (await store.read())[field];
          const record = ShotRecord.safeParse(JSON.parse(now ?? 'null'));
          if (record.success && record.data.ref !== undefined) return record.data.ref;
          let lookFirst = now !== undefined;
          if (!lookFirst) await write({ key: shot.key });
          const submitted = await withFarm(`submitting ${shot.plan.label}`, async () => {
            // After a crash or a lost answer the job may exist already: look before sending it again.
            if (lookFirst) {
              const found = await farm.findBySubmissionKey(shot.key, { signal });
              if (found !== undefined) {
                log.info({ submissionKey: shot.key, farmJobId: found.farmJobId }, 'farm job found again');
                return found;
              }
            }
            lookFirst = true;
            return farm.submit(shot.farmJob, shot.key, { signal });
          });
          await write({ key: shot.key, ref: submitted });
          return submitted;
        },
        { signal },
      );
      shot.ref = ref;
      log.info({ taskId: shot.plan.task.id, farmJobId: ref.farmJobId, url: ref.url }, 'farm job recorded');
    }

    if (data.action.report?.comment === true && recorded[commentedField] === undefined) {
      await commentSubmitted({
        zou,
        data,
        shots: shots.map(toSubmitted),
        farmName: spec.farmName,
        jobUrl: `${context.publicUrl}/jobs/${jobId}`,
        log,
      });
      await store.write(commentedField, new Date().toISOString());
    }

    // Tracking: poll every shot until each has ended; wait longer while nothing changes.
    let waitMs = farms.pollIntervalMs;
    // Stryker disable next-line StringLiteral: equivalent, no progress message is empty, so the first one always differs
    let lastMessage = '';
    for (;;) {
      await throwIfCancelled();
      let changed = false;
      for (const shot of shots) {
        if (shot.status !== undefined && finalFarmStates.has(shot.status.state)) continue;
        const ref = shot.ref;
        if (ref === undefined) continue;
        let status: FarmJobStatus;
        try {
          status = await withFarm(`the status of ${shot.plan.label}`, () => farm.status(ref, { signal }), {
            cancelJustChecked: true,
          });
        } catch (error) {
          if (!(error instanceof FarmJobGoneError)) throw error;
          status = { state: 'failed', percent: 0, message: `the farm job is gone (${error.message})` };
        }
        if (shot.status?.state !== status.state || shot.status.percent !== status.percent) changed = true;
        shot.status = status;
      }
      const summary = describeProgress(shots, spec.farmName);
      progressNow = summary.percent;
      if (summary.message !== lastMessage) {
        lastMessage = summary.message;
        await context.progress(summary.percent, summary.message, linksNow());
      }
      if (shots.every((shot) => shot.status !== undefined && finalFarmStates.has(shot.status.state))) break;
      waitMs = changed ? farms.pollIntervalMs : Math.min(waitMs * 2, farms.maxPollIntervalMs);
      // A cancel (the signal) ends the wait at once: the catch below reads it from the signal.
      await farms.sleep(waitMs, signal);
    }
  } catch (error) {
    const request = error instanceof CancelSeen ? error.request : cancelOf(signal);
    if (request === undefined) throw error;
    await cancelFarmJobs(context, spec, farm, shots, request, progressNow, linksNow());
    throw new JobCancelled(outcomeOfRequest(request));
  }

  const results = shots.map(toResult);
  const failed = results.filter((shot) => shot.state === 'failed');
  const cancelled = results.filter((shot) => shot.state === 'cancelled');
  if (failed.length > 0) {
    throw new UnrecoverableError(
      `${failed.length} of ${results.length} shots failed on ${farmWord}: ${failed
        .map((shot) => `${shot.name}: ${shot.message}`)
        .join('; ')}`,
    );
  }
  if (cancelled.length > 0) {
    // Cancelled on the farm itself (its own UI or tools): the job ends cancelled, by the farm.
    throw new JobCancelled({
      reason: `${cancelReasonPrefix} on ${farmWord}: ${cancelled.map((shot) => `${shot.name}: ${shot.message}`).join('; ')}`,
      by: spec.farmName,
      at: new Date().toISOString(),
    });
  }
  const summary = `${results.length} ${results.length === 1 ? 'shot' : 'shots'} rendered on ${spec.farmName}`;
  await context.progress(100, summary, linksNow());
  return {
    type: 'render',
    farm: farm.kind,
    farmUrl: farm.url,
    summary,
    shots: results,
    links: linksNow(),
  };
}

function toSubmitted(shot: Shot): { plan: ShotPlan; ref: FarmJobRef | undefined } {
  return { plan: shot.plan, ref: shot.ref };
}

/** A shot once tracked: tracking ends only when every shot has its farm job and a final status. */
function toResult(shot: Shot): RenderShotResult {
  return {
    taskId: shot.plan.task.id,
    name: shot.plan.label,
    // Stryker disable next-line OptionalChaining,StringLiteral: equivalent, every tracked shot has a ref
    farmJobId: shot.ref?.farmJobId ?? '',
    // A farm without a page for its jobs gives none (a stored result leaves an undefined out).
    // Stryker disable next-line OptionalChaining: equivalent, every tracked shot has a ref
    url: shot.ref?.url,
    // Stryker disable next-line OptionalChaining,StringLiteral: equivalent, every tracked shot has a status
    state: shot.status?.state ?? 'queued',
    // Stryker disable next-line OptionalChaining,StringLiteral: equivalent, every tracked shot has a status
    message: shot.status?.message ?? '',
  };
}

/** "3 of 5 shots rendering, 1 done, 42%": the mean of the farm's percentages. */
export function describeProgress(
  shots: readonly { status?: FarmJobStatus | undefined }[],
  farmName: string,
): { percent: number; message: string } {
  const count = (state: FarmJobStatus['state']): number =>
    shots.filter((shot) => shot.status?.state === state).length;
  const total = shots.length;
  const completed = count('completed');
  const percent =
    completed === total
      ? 100
      : Math.min(99, Math.floor(shots.reduce((sum, shot) => sum + (shot.status?.percent ?? 0), 0) / total));
  const parts = [`${count('active')} of ${total} ${total === 1 ? 'shot' : 'shots'} rendering`];
  if (completed > 0) parts.push(`${completed} done`);
  if (count('queued') > 0) parts.push(`${count('queued')} queued`);
  if (count('failed') > 0) parts.push(`${count('failed')} failed`);
  if (count('cancelled') > 0) parts.push(`${count('cancelled')} cancelled`);
  return { percent, message: `${parts.join(', ')} on ${farmName}, ${percent}%` };
}

/**
 * A person cancelled: every farm job this job may have created is cancelled, including one whose submit
 * was under way (found by its key). Best effort with a deadline of its own; what could not be cancelled
 * is named in the job's reason.
 */
async function cancelFarmJobs<J>(
  context: RenderContext,
  spec: RenderSpec<J>,
  farm: RenderFarm<J>,
  shots: readonly Shot[],
  request: CancelRequest,
  /** Where the job stands, kept on the status page. */
  percent: number,
  links: Link[],
): Promise<void> {
  const { store, log } = context;
  await context.progress(percent, `Cancelling the jobs on ${spec.farmName}`, links).catch(() => undefined);
  const deadline = AbortSignal.timeout(60_000);
  // From the store, not `shots`: a cancel while Kitsu was still being read must reach an earlier run's jobs.
  const recorded = await store.read();
  const problems: string[] = [];
  for (const [field, text] of Object.entries(recorded)) {
    if (!field.startsWith('shot:')) continue;
    const record = ShotRecord.safeParse(JSON.parse(text));
    if (!record.success) continue;
    const taskId = field.slice('shot:'.length);
    const label = shots.find((shot) => shot.plan.task.id === taskId)?.plan.label ?? `task ${taskId}`;
    try {
      const ref = record.data.ref ?? (await farm.findBySubmissionKey(record.data.key, { signal: deadline }));
      if (ref === undefined) continue;
      await farm.cancel(ref, { ...spec.cancel, reason: request.reason, signal: deadline });
      log.info({ farmJobId: ref.farmJobId }, 'farm job cancelled');
    } catch (error) {
      log.warn({ err: error, taskId }, 'farm job not cancelled');
      problems.push(`${label}: ${messageOf(error)}`);
    }
  }
  if (problems.length > 0) {
    const reason = `${request.reason}; not cancelled on ${spec.farmName}: ${problems.join('; ')}`;
    throw new JobCancelled(outcomeOfRequest(request, reason));
  }
}
