import { once } from 'node:events';
import type { AddressInfo, Server } from 'node:net';
import type { IncomingMessage } from 'node:http';

/**
 * A fake peer's listening socket, which a test can take down ("connection refused") and bring back on
 * the same port, as when the real peer restarts.
 */
export interface Listener {
  port: number;
  /** Stops listening and drops open connections; harmless when already down. */
  refuse(): Promise<void>;
  /** Listens again on the same port; nothing once closed for good. */
  accept(): Promise<void>;
  /** Stops for good; true the first time only, so the caller releases its own resources once. */
  close(): Promise<boolean>;
}

export async function listen(
  server: Server,
  options: { port?: number | undefined; host: string; dropConnections: () => void },
): Promise<Listener> {
  server.listen(options.port ?? 0, options.host);
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  let listening = true;
  let closed = false;
  const refuse = async (): Promise<void> => {
    if (!listening) return;
    listening = false;
    const done = once(server, 'close');
    server.close();
    options.dropConnections();
    await done;
  };
  return {
    port,
    refuse,
    async accept() {
      if (listening || closed) return;
      server.listen(port, options.host);
      await once(server, 'listening');
      listening = true;
    },
    async close() {
      if (closed) return false;
      closed = true;
      await refuse();
      return true;
    },
  };
}

/** The whole body of a request, as text. */
export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** A fake farm's own clock: `advance(tickMs)` every tickMs, when asked for; it never holds the process. */
export function startTicker(
  tickMs: number | undefined,
  advance: (ms: number) => void,
): NodeJS.Timeout | null {
  if (tickMs === undefined) return null;
  const ticker = setInterval(() => advance(tickMs), tickMs);
  ticker.unref();
  return ticker;
}
