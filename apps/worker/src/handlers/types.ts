import type { Job } from 'bullmq';
import type { JobData, JobKind, KindOptions, KindResult, Logger } from '@kitsu-actions/shared';

/** What every handler gets: its validated data, typed options, progress, a logger and a cancel signal. */
export interface HandlerContext<K extends JobKind> {
  job: Job;
  data: JobData;
  options: KindOptions<K>;
  log: Logger;
  signal: AbortSignal;
  publicUrl: string;
  progress: (percent: number, message: string) => Promise<void>;
}

export type Handler<K extends JobKind> = (context: HandlerContext<K>) => Promise<KindResult<K>>;

export type HandlerMap = { [K in JobKind]: Handler<K> };
