import type { HumanKey, ZouTarget } from '@kitsu-actions/testing';
import { createZouClient, type ZouClient } from '../client.ts';

/**
 * The contract tests' clients, one per person (logged in through their session token) or the bot,
 * made on first use and kept for the file. `target` is read at call time: it is set in `beforeAll`.
 */
export function sessionClients(target: () => ZouTarget): (who: HumanKey | 'bot') => Promise<ZouClient> {
  const clients = new Map<string, ZouClient>();
  return async (who) => {
    const known = clients.get(who);
    if (known !== undefined) return known;
    const zou = target();
    const token = who === 'bot' ? zou.botToken : await zou.sessionToken(who);
    const client = createZouClient({ baseUrl: zou.url, auth: { token }, retries: 1, retryBaseDelayMs: 50 });
    clients.set(who, client);
    return client;
  };
}
