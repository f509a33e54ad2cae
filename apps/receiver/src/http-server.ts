import { createServer, type Server } from 'node:http';
import type { Config } from '@kitsu-actions/shared';

/**
 * The receiver's HTTP server, bounded (HTTP_* settings): a client has `headersTimeoutMs` to send its
 * headers and `requestTimeoutMs` for the whole request (then 408 and the connection is closed), and at
 * most `maxConnections` are open at once (more are closed as they arrive). The request handler is
 * attached by the caller (main.ts, the test harness).
 */
export function createHttpServer(http: Config['http']): Server {
  const server = createServer({
    headersTimeout: http.headersTimeoutMs,
    requestTimeout: http.requestTimeoutMs,
    keepAliveTimeout: http.keepAliveTimeoutMs,
    // Node checks both timeouts on this interval (30 s by default, which let a 300 s timeout hold 322 s).
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(http.headersTimeoutMs / 4))),
  });
  server.maxConnections = http.maxConnections;
  // CONNECT never reaches a request handler: without this Node drops the connection without a word.
  server.on('connect', (_request, socket) => {
    socket.end(
      'HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD, POST, OPTIONS\r\nContent-Length: 0\r\nConnection: close\r\n\r\n',
    );
  });
  return server;
}
