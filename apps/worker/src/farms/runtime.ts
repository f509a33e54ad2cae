import { setTimeout as sleep } from 'node:timers/promises';
import type { Config, Logger } from '@kitsu-actions/shared';
import { AfanasyFarm } from './afanasy.ts';
import { FlamencoFarm } from './flamenco.ts';

/** The farms this worker can reach (from FLAMENCO_URL, AFANASY_HOST) and how render jobs watch them. */
export interface FarmRuntime {
  flamenco: FlamencoFarm | undefined;
  afanasy: AfanasyFarm | undefined;
  /** First wait between two status polls; it doubles while nothing changes, up to the max. */
  pollIntervalMs: number;
  maxPollIntervalMs: number;
  /** A farm that stays unreachable this long fails the job. */
  unreachableTimeoutMs: number;
  /**
   * The wait between two status polls; an abort of `signal` ends it at once (it rejects). Node's timer;
   * a field so that tests can see the waits asked for instead of timing them.
   */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export function createFarms(config: Pick<Config, 'farms'>, logger: Logger): FarmRuntime {
  const { farms } = config;
  const retry = { retries: farms.retries, baseDelayMs: Math.min(250, farms.pollIntervalMs) };
  return {
    flamenco:
      farms.flamenco === undefined
        ? undefined
        : new FlamencoFarm({
            url: farms.flamenco.url,
            timeoutMs: farms.timeoutMs,
            retry,
            logger: logger.child({ peer: 'flamenco' }),
          }),
    afanasy:
      farms.afanasy === undefined
        ? undefined
        : new AfanasyFarm({
            host: farms.afanasy.host,
            port: farms.afanasy.port,
            timeoutMs: farms.timeoutMs,
            retry,
            ...(farms.afanasy.jobUrl === undefined ? {} : { jobPageUrl: farms.afanasy.jobUrl }),
            logger: logger.child({ peer: 'afanasy' }),
          }),
    pollIntervalMs: farms.pollIntervalMs,
    maxPollIntervalMs: farms.maxPollIntervalMs,
    unreachableTimeoutMs: farms.unreachableTimeoutMs,
    sleep: (ms, signal) => sleep(ms, undefined, { signal }),
  };
}
