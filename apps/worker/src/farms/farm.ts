import { z } from 'zod';
import { FarmJobState, FarmKind, farmNames, type FarmCancelMode } from '@kitsu-actions/shared';

/**
 * A farm job as we record it on our job. `farmJobId` is the Flamenco job UUID, or the Afanasy job *serial*
 * in decimal (Afanasy reuses ids after deletion, never serials). `url` is the farm's own page for the job.
 */
export const FarmJobRef = z.object({
  farm: FarmKind,
  farmJobId: z.string().min(1),
  url: z.string().optional(),
});
export type FarmJobRef = z.infer<typeof FarmJobRef>;

export const FarmJobStatus = z.object({
  state: FarmJobState,
  /** 0-100, whole numbers; 100 only when the farm says the job is done. */
  percent: z.number().int().min(0).max(100),
  /** One line for the status page and the Kitsu comment; carries the farm's reason on failure. */
  message: z.string(),
  url: z.string().optional(),
});
export type FarmJobStatus = z.infer<typeof FarmJobStatus>;

/**
 * Fields of ours in every farm job (Flamenco metadata, Afanasy custom_data). Plain snake_case names: the
 * Flamenco Manager wants metadata keys without dots. New farm jobs carry these names only.
 */
export const farmJobFields = {
  /** `<our job id>/<Kitsu task id>`: how a restarted worker finds the farm job instead of submitting again. */
  submissionKey: 'kitsu_actions_submission_key',
  /** Our job's (BullMQ) id, for people and scripts looking at the farm; never looked up by us. */
  bullJobId: 'kitsu_actions_bull_job_id',
} as const;

/**
 * The same fields as earlier versions named them, one word apart and easily confused. Never written. The
 * submission key is still read under its old name, so a farm job submitted before an upgrade is found again.
 */
export const legacyFarmJobFields = {
  submissionKey: 'kitsu_actions_job',
  bullJobId: 'kitsu_actions_job_id',
} as const;

/** Whether a farm job's fields carry `submissionKey`, under its name or its earlier one. */
export function carriesSubmissionKey(
  fields: Readonly<Record<string, unknown>>,
  submissionKey: string,
): boolean {
  return (
    fields[farmJobFields.submissionKey] === submissionKey ||
    fields[legacyFarmJobFields.submissionKey] === submissionKey
  );
}

export interface FarmCallOptions {
  /** Aborts the call and its retries; the abort reason is thrown as is. */
  signal?: AbortSignal | undefined;
}

export interface CancelOptions extends FarmCallOptions {
  /** Afanasy only; the adapter's configured mode when left out. */
  mode?: FarmCancelMode | undefined;
  /** Shown on the farm where it keeps one (Flamenco's job activity). */
  reason?: string | undefined;
}

/** The subset of a pino logger the adapters use. */
export interface FarmLogger {
  debug(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
}

/**
 * One render farm. `J` is the farm's own job description (validated locally before anything is sent).
 *
 * Exactly-once submission: the handler records the returned ref on our job before tracking; after a crash
 * between `submit` and that record it calls `findBySubmissionKey` with the same key before submitting again.
 */
export interface RenderFarm<J> {
  readonly kind: FarmKind;
  /** Where the farm is, as named in error messages. */
  readonly url: string;
  /** Validates the job (locally, and with the farm's dry run where it has one) without submitting it. */
  check(job: J, options?: FarmCallOptions): Promise<void>;
  /** Submits the job carrying `submissionKey`; retries without ever creating a second farm job. */
  submit(job: J, submissionKey: string, options?: FarmCallOptions): Promise<FarmJobRef>;
  /** The farm job carrying `submissionKey`, if the farm has one. */
  findBySubmissionKey(submissionKey: string, options?: FarmCallOptions): Promise<FarmJobRef | undefined>;
  status(ref: FarmJobRef, options?: FarmCallOptions): Promise<FarmJobStatus>;
  /** Cancels the farm job; a job that already ended or no longer exists is left alone. */
  cancel(ref: FarmJobRef, options?: CancelOptions): Promise<void>;
}

export interface FarmErrorInit {
  farm: FarmKind;
  farmUrl: string;
  cause?: unknown;
}

/** Base of every farm error: says which farm, where. */
export class FarmError extends Error {
  override name = 'FarmError';
  readonly farm: FarmKind;
  readonly farmUrl: string;

  constructor(init: FarmErrorInit, message: string) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.farm = init.farm;
    this.farmUrl = init.farmUrl;
  }
}

/** The farm could not be reached or failed on its side (network, timeout, 5xx), after the retries. */
export class FarmUnavailableError extends FarmError {
  override name = 'FarmUnavailableError';
  /** HTTP status when the farm answered one (5xx), else null. */
  readonly status: number | null;
  readonly reason: string;
  readonly attempts: number;

  constructor(
    init: FarmErrorInit & { what: string; reason: string; status?: number | null; attempts: number },
  ) {
    super(
      init,
      `${farmNames[init.farm]} at ${init.farmUrl} is unavailable (${init.what}): ${init.reason}` +
        (init.attempts > 1 ? ` (after ${String(init.attempts)} attempts)` : ''),
    );
    this.status = init.status ?? null;
    this.reason = init.reason;
    this.attempts = init.attempts;
  }
}

/** The farm (or our local check of what it would accept) refused the request; repeating it cannot help. */
export class FarmRejectedError extends FarmError {
  override name = 'FarmRejectedError';
  /** HTTP status of the refusal; null when refused before sending or by an afserver error answer. */
  readonly status: number | null;
  /** The farm's own reason, verbatim. */
  readonly reason: string;

  constructor(init: FarmErrorInit & { what: string; reason: string; status?: number | null }) {
    super(init, `${farmNames[init.farm]} at ${init.farmUrl} refused ${init.what}: ${init.reason}`);
    this.status = init.status ?? null;
    this.reason = init.reason;
  }
}

/** The farm no longer has the job (deleted there, or the ref belongs to another farm instance). */
export class FarmJobGoneError extends FarmRejectedError {
  override name = 'FarmJobGoneError';
  readonly farmJobId: string;

  constructor(init: FarmErrorInit & { farmJobId: string; status?: number | null }) {
    super({
      ...init,
      what: `job ${init.farmJobId}`,
      reason: 'no such job on the farm (deleted there?)',
    });
    this.farmJobId = init.farmJobId;
  }
}

/** The farm answered something this adapter cannot read (another version, a proxy page). */
export class FarmResponseError extends FarmError {
  override name = 'FarmResponseError';

  constructor(init: FarmErrorInit & { what: string; problem: string }) {
    super(
      init,
      `${farmNames[init.farm]} at ${init.farmUrl} gave an unexpected answer to ${init.what}: ${init.problem}`,
    );
  }
}

/** Short text of a zod error for messages. */
export function summarizeIssues(error: z.ZodError): string {
  const shown = error.issues.slice(0, 3).map((issue) => {
    const path = issue.path.length === 0 ? '(root)' : issue.path.map(String).join('.');
    return `${path}: ${issue.message}`;
  });
  const more = error.issues.length > 3 ? ` (+${String(error.issues.length - 3)} more)` : '';
  return `${shown.join('; ')}${more}`;
}
