import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/** Paths that may carry credentials; pino replaces their values before anything is written. */
export const redactedPaths = [
  'req.headers.cookie',
  'req.headers.authorization',
  'headers.cookie',
  'headers.authorization',
  '*.password',
  '*.token',
  '*.access_token',
  '*.refresh_token',
  '*.actionsToken',
  '*.botToken',
  'headers["x-kitsu-actions-token"]',
  'req.headers["x-kitsu-actions-token"]',
];

/** The one root logger of a process; everything else uses `logger.child({...})`. */
export function createLogger(options: { level: LevelWithSilent; name: string }): Logger {
  return pino({
    name: options.name,
    level: options.level,
    redact: { paths: redactedPaths, censor: '[redacted]' },
  });
}
