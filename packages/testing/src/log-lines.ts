import { pino, type Logger } from 'pino';

/** One line a recording logger wrote: its message, level and fields. */
export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/**
 * A pino logger that keeps what it writes, for tests that check a log line: the same serialisation and
 * redaction as a process's logger would apply, read back as objects.
 */
export function recordingLogger(options: { redact?: string[] } = {}): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = pino(
    {
      level: 'debug',
      ...(options.redact ? { redact: { paths: options.redact, censor: '[redacted]' } } : {}),
    },
    { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) },
  );
  return { logger, lines };
}
