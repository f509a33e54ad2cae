import type { Job } from 'bullmq';
import type { JobData, JobKind, KindOptions, KindResult, Logger } from '@kitsu-actions/shared';
import type { ZouClient } from '@kitsu-actions/zou';

/** What every handler gets: its validated data, typed options, progress, a logger and a cancel signal. */
export interface HandlerContext<K extends JobKind> {
  job: Job;
  data: JobData;
  options: KindOptions<K>;
  log: Logger;
  signal: AbortSignal;
  publicUrl: string;
  /** The bot's Zou client, when KITSU_URL and KITSU_BOT_TOKEN are configured. */
  zou: ZouClient | undefined;
  progress: (percent: number, message: string) => Promise<void>;
}

export type Handler<K extends JobKind> = (context: HandlerContext<K>) => Promise<KindResult<K>>;

export type HandlerMap = { [K in JobKind]: Handler<K> };
