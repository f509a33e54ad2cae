import type { Config, Logger } from '@kitsu-actions/shared';
import { createZouClient, type ZouClient, type ZouClientOptions } from './client.ts';

/**
 * The bot's client from the configuration (KITSU_URL + KITSU_BOT_TOKEN), or undefined when Kitsu is not
 * configured. Contacts nothing yet.
 */
export function botZouClient(
  kitsu: Config['kitsu'],
  logger: Logger,
  tuning: Partial<Pick<ZouClientOptions, 'retries' | 'maxRetryAfterMs'>> = {},
): ZouClient | undefined {
  if (kitsu?.botToken === undefined) return undefined;
  return createZouClient({
    baseUrl: kitsu.url,
    auth: { token: kitsu.botToken },
    timeoutMs: kitsu.timeoutMs,
    ...tuning,
    logger: logger.child({ peer: 'zou' }),
  });
}
