/** Retrying HTTP and TCP peers (Zou, render farms): backoff, Retry-After, and whether a request was sent. */
import { setTimeout as delay } from 'node:timers/promises';

export interface RetryPolicy {
  /** Extra attempts after the first for network errors and 5xx. 4xx are never retried. */
  retries: number;
  /** First backoff delay; doubles per attempt, with jitter. */
  baseDelayMs: number;
  /** Cap on one backoff delay. */
  maxDelayMs: number;
  /** A `Retry-After` longer than this is not waited for: the error is thrown instead. */
  maxRetryAfterMs: number;
}

export const defaultRetryPolicy: RetryPolicy = {
  retries: 4,
  baseDelayMs: 250,
  maxDelayMs: 10_000,
  maxRetryAfterMs: 60_000,
};

export function backoffMs(policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>, attempt: number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  // Equal jitter: never less than half the ceiling, so backoff still grows.
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

export async function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  await delay(ms, undefined, signal === undefined ? {} : { signal });
}

/** What `retrying` does after a failed attempt. */
export type RetryVerdict =
  /** Stop: repeating cannot help, or is not safe. */
  | 'give-up'
  /** Wait the backoff, then try again. */
  | 'retry'
  /** Try again after at least this long (the peer's `Retry-After`); past `maxRetryAfterMs`, give up. */
  | { retryAfterMs: number };

export interface RetryingPolicy extends Omit<RetryPolicy, 'maxRetryAfterMs'> {
  /** `retries` may be `Infinity`, with `shouldRetry` deciding when to stop (a deadline). */
  retries: number;
  /** A longer `retryAfterMs` verdict gives up at once. Default: no limit. */
  maxRetryAfterMs?: number;
  /** Default true. False: each wait is exactly the doubled step, for a steady polling rhythm. */
  jitter?: boolean;
  /** Aborts the wait between attempts; once it is aborted, its reason is thrown as is. */
  signal?: AbortSignal | undefined;
  /** Whether a failure is worth another attempt. Default: every failure is. */
  shouldRetry?(error: unknown, attempt: number): RetryVerdict;
  /** Called before each wait (to log it, show it); awaited. `attempt` is the one that failed. */
  onRetry?(retry: { error: unknown; attempt: number; waitMs: number }): void | Promise<void>;
  /** What is thrown when giving up on `error` after `attempts` attempts. Default: the error itself. */
  giveUp?(error: unknown, attempts: number): unknown;
}

/**
 * Runs `call` until it resolves, a failure is not worth retrying, or the retries are spent; the last
 * failure is thrown (through `giveUp`). `call` gets the attempt number, from 1.
 */
export async function retrying<T>(call: (attempt: number) => Promise<T>, policy: RetryingPolicy): Promise<T> {
  const { signal } = policy;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await call(attempt);
    } catch (error) {
      if (signal?.aborted === true) throw signal.reason;
      const verdict = policy.shouldRetry?.(error, attempt) ?? 'retry';
      const retryAfterMs = typeof verdict === 'object' ? verdict.retryAfterMs : 0;
      if (
        verdict === 'give-up' ||
        attempt > policy.retries ||
        retryAfterMs > (policy.maxRetryAfterMs ?? Infinity)
      ) {
        throw policy.giveUp === undefined ? error : policy.giveUp(error, attempt);
      }
      const step =
        policy.jitter === false
          ? Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1))
          : backoffMs(policy, attempt);
      const waitMs = Math.max(step, retryAfterMs);
      await policy.onRetry?.({ error, attempt, waitMs });
      await pause(waitMs, signal);
    }
  }
}

/** Like `sleep`, but an abort throws the signal's reason, as the aborted call itself would. */
async function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  try {
    await sleep(ms, signal);
  } catch (error) {
    if (signal?.aborted === true) throw signal.reason;
    throw error;
  }
}

/** An HTTP answer with its body read, as the HTTP clients keep one. */
export interface HttpAnswer {
  status: number;
  headers: Headers;
  text: string;
}

/**
 * An HTTP answer worth another attempt (a 5xx), thrown by a `retrying` call so that the policy weighs it
 * like a network failure; `giveUp` turns it into the caller's own error.
 */
export class RetryableAnswer extends Error {
  override name = 'RetryableAnswer';

  constructor(readonly answer: HttpAnswer) {
    super(`HTTP ${String(answer.status)}`);
  }
}

/** `Retry-After` in ms: delta-seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | null {
  if (value === null) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return null;
  return Math.max(0, date - now);
}

export function errorCode(error: unknown): string | null {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current !== null && typeof current === 'object'; depth += 1) {
    if ('code' in current && typeof current.code === 'string') return current.code;
    if (current instanceof AggregateError) {
      const first: unknown = current.errors[0];
      current = first;
      continue;
    }
    current = 'cause' in current ? current.cause : null;
  }
  return null;
}

const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** The request never left this machine, so repeating it cannot create anything twice. */
export function isNotSent(error: unknown): boolean {
  const code = errorCode(error);
  return code !== null && NOT_SENT_CODES.has(code);
}

/** One line on why a request got no answer. */
export function networkReason(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return `no answer within ${String(timeoutMs)} ms`;
  }
  const code = errorCode(error);
  const message = error instanceof Error ? error.message : String(error);
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : null;
  return [
    message,
    cause,
    code === null || cause?.includes(code) === true || message.includes(code) ? null : code,
  ]
    .filter((part): part is string => part !== null && part !== '')
    .join(': ');
}
