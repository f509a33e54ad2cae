import { connect } from 'node:net';

/**
 * Why an exchange with afserver got no usable answer. `sent` tells whether the message may have reached
 * the server (a submit must then be looked up before it is repeated); `kind: 'protocol'` is a complete
 * answer that is not afserver's (another service on that port), not worth retrying.
 */
export class AfanasyWireError extends Error {
  override name = 'AfanasyWireError';
  readonly sent: boolean;
  readonly kind: 'network' | 'protocol';
  readonly code: string | null;

  constructor(
    message: string,
    options: { sent: boolean; kind?: 'network' | 'protocol'; code?: string | null; cause?: unknown },
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.sent = options.sent;
    this.kind = options.kind ?? 'network';
    this.code = options.code ?? null;
  }
}

const HEADER = /^AFANASY (\d+) JSON/;

/** `AFANASY <byte length> JSON` immediately followed by the JSON, as CGRU's Python API sends it. */
export function frameMessage(message: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(message), 'utf8');
  return Buffer.concat([Buffer.from(`AFANASY ${String(body.length)} JSON`, 'latin1'), body]);
}

/** The JSON of a complete answer; null while more bytes are needed. Throws on a foreign answer. */
export function readAnswer(data: Buffer): { json: unknown } | null {
  const head = data.subarray(0, Math.min(data.length, 40)).toString('latin1');
  const match = HEADER.exec(head);
  if (match?.[1] === undefined) {
    if ('AFANASY '.startsWith(head) || /^AFANASY \d*( J?S?O?)?$/.test(head)) return null;
    throw new AfanasyWireError(
      `the answer is not afserver's (it starts with ${JSON.stringify(head.slice(0, 20))})`,
      {
        sent: true,
        kind: 'protocol',
      },
    );
  }
  const length = Number(match[1]);
  const start = match[0].length;
  if (data.length < start + length) return null;
  const text = data.subarray(start, start + length).toString('utf8');
  try {
    return { json: JSON.parse(text) as unknown };
  } catch (error) {
    throw new AfanasyWireError('the answer is not JSON', { sent: true, kind: 'protocol', cause: error });
  }
}

export interface ExchangeOptions {
  host: string;
  port: number;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
}

/** Sends one message on a fresh connection and reads the answer (afserver closes after answering). */
export async function exchange(message: unknown, options: ExchangeOptions): Promise<unknown> {
  const { signal } = options;
  signal?.throwIfAborted();
  const bytes = frameMessage(message);
  return new Promise<unknown>((resolve, reject) => {
    let sent = false;
    let settled = false;
    let data = Buffer.alloc(0);
    const socket = connect({ host: options.host, port: options.port });
    const finish = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      outcome();
    };
    const fail = (error: unknown) => {
      finish(() => {
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- an abort reason is rethrown as given, like fetch does
        reject(error);
      });
    };
    const onAbort = () => {
      fail(signal?.reason);
    };
    const timer = setTimeout(() => {
      fail(
        new AfanasyWireError(`no answer within ${String(options.timeoutMs)} ms`, { sent, code: 'ETIMEDOUT' }),
      );
    }, options.timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });

    socket.once('connect', () => {
      sent = true;
      socket.write(bytes);
    });
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      try {
        const answer = readAnswer(data);
        if (answer !== null) {
          finish(() => {
            resolve(answer.json);
          });
        }
      } catch (error) {
        fail(error);
      }
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      fail(new AfanasyWireError(error.message, { sent, code: error.code ?? null, cause: error }));
    });
    socket.on('close', () => {
      const reason =
        data.length === 0
          ? 'the connection closed without an answer'
          : `the connection closed after ${String(data.length)} bytes, before the whole answer`;
      fail(new AfanasyWireError(reason, { sent }));
    });
  });
}
