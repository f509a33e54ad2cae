import type { AfanasyFraming } from './model.ts';

/** What the bytes received so far amount to. */
export type Framed =
  | { kind: 'incomplete' }
  | { kind: 'message'; framing: AfanasyFraming; body: Buffer }
  /** The bytes can never become a message (afserver drops such a connection). */
  | { kind: 'garbage'; framing: AfanasyFraming | null; reason: string };

const RAW_PREFIX = Buffer.from('AFANASY ', 'latin1');
const RAW_HEADER = /^AFANASY (\d+) JSON/;
const HTTP_METHOD = /^(?:GET|POST|PUT|HEAD|OPTIONS|DELETE|PATCH) /;
const HTTP_PREFIXES = ['GET ', 'POST ', 'PUT ', 'HEAD ', 'OPTIONS ', 'DELETE ', 'PATCH '];
const MAX_HEADER = 16 * 1024;

/**
 * Reads one message in either framing afserver accepts:
 * - raw, as CGRU's Python API sends it: `AFANASY <n> JSON` immediately followed by n bytes of JSON;
 * - HTTP: a request whose headers include `AFANASY: <n>`; the body is the n bytes after the blank line
 *   (the AFANASY header gives the size, not Content-Length).
 */
export function readFrame(data: Buffer): Framed {
  const head = data.subarray(0, Math.min(data.length, 64)).toString('latin1');
  if (data.length < RAW_PREFIX.length && RAW_PREFIX.subarray(0, data.length).equals(data)) {
    return { kind: 'incomplete' };
  }
  if (head.startsWith('AFANASY ')) {
    const match = RAW_HEADER.exec(head);
    if (match?.[1] === undefined) {
      return /^AFANASY \d*( J?S?O?)?$/.test(head)
        ? { kind: 'incomplete' }
        : { kind: 'garbage', framing: 'raw', reason: 'malformed AFANASY header' };
    }
    const length = Number(match[1]);
    const start = match[0].length;
    if (data.length < start + length) return { kind: 'incomplete' };
    return { kind: 'message', framing: 'raw', body: data.subarray(start, start + length) };
  }
  if (
    HTTP_METHOD.test(head) ||
    HTTP_PREFIXES.some((prefix) => head.length < prefix.length && prefix.startsWith(head))
  ) {
    const end = data.indexOf('\r\n\r\n');
    if (end === -1) {
      return data.length > MAX_HEADER
        ? { kind: 'garbage', framing: 'http', reason: 'HTTP header too large' }
        : { kind: 'incomplete' };
    }
    const lines = data.subarray(0, end).toString('latin1').split('\r\n');
    let length: number | null = null;
    for (const line of lines.slice(1)) {
      const match = /^afanasy:\s*(\d+)\s*$/i.exec(line);
      if (match?.[1] !== undefined) length = Number(match[1]);
    }
    if (length === null) return { kind: 'garbage', framing: 'http', reason: 'no AFANASY header' };
    const start = end + 4;
    if (data.length < start + length) return { kind: 'incomplete' };
    return { kind: 'message', framing: 'http', body: data.subarray(start, start + length) };
  }
  return { kind: 'garbage', framing: null, reason: 'unknown message header' };
}

/** An answer in the framing of the question. */
export function frameAnswer(framing: AfanasyFraming, json: string, status = 200): Buffer {
  const body = Buffer.from(json, 'utf8');
  if (framing === 'raw') {
    return Buffer.concat([Buffer.from(`AFANASY ${String(body.length)} JSON`, 'latin1'), body]);
  }
  const reason = status === 200 ? 'OK' : 'Bad Request';
  const header =
    `HTTP/1.1 ${String(status)} ${reason}\r\n` +
    'Content-Type: application/json\r\n' +
    `Content-Length: ${String(body.length)}\r\n` +
    'Connection: close\r\n\r\n';
  return Buffer.concat([Buffer.from(header, 'latin1'), body]);
}
