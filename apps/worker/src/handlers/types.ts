import type { Job } from 'bullmq';
import {
  JobData,
  type JobKind,
  type KindOptions,
  type JobLinks,
  type KindResult,
  type Link,
  type Logger,
} from '@kitsu-actions/shared';
import type { ZouClient } from '@kitsu-actions/zou';
import type { FarmRuntime } from '../farms/index.ts';
import type { JobStore } from '../job-store.ts';

/** A job of kind K once the processor has checked it: its data is JobData, its name K. */
export type KindJob<K extends JobKind> = Job<JobData, KindResult<K>, K>;

/** Whether a BullMQ job is one of kind K: named K, its data JobData. */
export function isKindJob<K extends JobKind>(job: Job<unknown, unknown, string>, kind: K): job is KindJob<K> {
  return job.name === kind && JobData.safeParse(job.data).success;
}

/** What every handler gets: its validated data, typed options, progress, a logger and a cancel signal. */
export interface HandlerContext<K extends JobKind> {
  job: KindJob<K>;
  /** The job's data as checked (job.data, parsed). */
  data: JobData;
  options: KindOptions<K>;
  log: Logger;
  signal: AbortSignal;
  publicUrl: string;
  /** Where this job's pages are (its status, result, result.csv…), with what opens them under AUTH_MODE=token. */
  links: JobLinks;
  /** The bot's Zou client, when KITSU_URL and KITSU_BOT_TOKEN are configured. */
  zou: ZouClient | undefined;
  /** `links` are shown on the status page (e.g. each farm job's own page) and kept after the job ends. */
  progress: (percent: number, message: string, links?: Link[]) => Promise<void>;
  /** The render farms this worker reaches (FLAMENCO_URL, AFANASY_HOST) and how to watch them. */
  farms: FarmRuntime;
  /** What the handler records about this job, kept across restarts (see job-store.ts). */
  store: JobStore;
  /** The largest page a handler may return (RESULT_PAGE_LIMIT): it is stored with the job. */
  resultPageBytes: number;
}

export type Handler<K extends JobKind> = (context: HandlerContext<K>) => Promise<KindResult<K>>;

export type HandlerMap = { [K in JobKind]: Handler<K> };
