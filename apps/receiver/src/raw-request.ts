import type { IncomingHttpHeaders } from 'node:http';
import { formatBytes, jsonBytes, knownKitsuFields, type RawRequest } from '@kitsu-actions/shared';

/** Headers that carry credentials: used for identity, never stored with a job. */
export const credentialHeaders: ReadonlySet<string> = new Set([
  'cookie',
  'authorization',
  'proxy-authorization',
  'x-kitsu-actions-token',
]);

/** The query parameter (and form field) of the shared secret (AUTH_MODE=token): used for identity, never stored. */
export const tokenParam = 'token';

/** Kitsu's session and bot tokens are JWTs: whatever header, field or parameter carries one, it is not kept. */
const jwtPattern = /eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]+/g;

/** Shorter values are not credentials this service issues (ACTIONS_TOKEN has 16 characters at least). */
const shortestSecret = 8;

const redactedMark = '[redacted]';

/** Every spelling a secret may have in a URL, a form body or a JSON body. */
function spellings(secret: string): string[] {
  const form = new URLSearchParams({ s: secret }).toString().slice(2);
  return [
    secret,
    encodeURIComponent(secret),
    form,
    JSON.stringify(secret).slice(1, -1),
    JSON.stringify(form).slice(1, -1),
  ];
}

/** Replaces the given secrets (in every spelling) and anything shaped like a JWT. */
export function redactor(secrets: readonly string[]): (text: string) => string {
  const needles = [
    ...new Set(
      secrets.filter((secret) => secret.length >= shortestSecret).flatMap((secret) => spellings(secret)),
    ),
  ].sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text.replace(jwtPattern, redactedMark);
    for (const needle of needles) if (out.includes(needle)) out = out.split(needle).join(redactedMark);
    return out;
  };
}

function redactValue(value: unknown, redact: (text: string) => string): unknown {
  if (typeof value === 'string') return redact(value);
  if (Array.isArray(value)) return value.map((item) => redactValue(item, redact));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([name, item]) => [name, redactValue(item, redact)]));
  }
  return value;
}

/** The URL as received minus any `token=` parameter (however it is spelled). */
function withoutTokenParam(url: string): string {
  const at = url.indexOf('?');
  if (at < 0) return url;
  const kept = url
    .slice(at + 1)
    .split('&')
    .filter((part) => {
      const name = part.split('=')[0] ?? '';
      try {
        return decodeURIComponent(name.replace(/\+/g, ' ')) !== tokenParam;
      } catch {
        // Not decodable: it cannot be the token parameter, keep it as sent.
        return true;
      }
    });
  return kept.length === 0 ? url.slice(0, at) : `${url.slice(0, at)}?${kept.join('&')}`;
}

/** The longest value of one field, or of one header, kept in the copy. */
const fieldValueLimit = 4096;
const headerValueLimit = 1024;
const urlLimit = 4096;

function cutText(text: string, max: number): string {
  return text.length > max ? text.slice(0, max) : text;
}

/** A field's value within `max` JSON bytes: long text is shortened, long lists keep their first items. */
function cutField(value: unknown, max: number): { value: unknown; note?: string } {
  if (jsonBytes(value) <= max) return { value };
  if (typeof value === 'string') {
    return { value: cutText(value, max), note: `first ${max} of ${value.length} characters kept` };
  }
  if (Array.isArray(value)) {
    const kept: unknown[] = [];
    let size = 2;
    for (const item of value) {
      const itemSize = jsonBytes(item) + 1;
      if (size + itemSize > max) break;
      kept.push(item);
      size += itemSize;
    }
    return { value: kept, note: `first ${kept.length} of ${value.length} items kept` };
  }
  const text = JSON.stringify(value) ?? '';
  return { value: cutText(text, max), note: `shown as text, first ${max} of ${text.length} characters kept` };
}

/** Cuts `text` so that it weighs at most `budget` bytes as JSON (escapes included). */
function cutToBytes(text: string, budget: number): string {
  let kept = text;
  for (let round = 0; round < 8 && jsonBytes(kept) > budget; round++) {
    const ratio = budget / jsonBytes(kept);
    kept = kept.slice(0, Math.max(0, Math.floor(kept.length * ratio) - 8));
  }
  return kept;
}

function listed(names: readonly string[]): string {
  const shown = names.slice(0, 5).join(', ');
  return names.length > 5 ? `${shown} and ${names.length - 5} more` : shown;
}

export interface RawRequestInput {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  contentType?: string;
  body: string;
  fields: Record<string, unknown>;
}

/**
 * The copy of the request kept with a job (for the debug page): no credential (credential headers, the
 * `token` parameter and field, the given secrets and every JWT are left out wherever they appear), and at
 * most `limitBytes` as stored; whatever had to be cut is named in `cut`.
 */
export function rawRequestCopy(
  input: RawRequestInput,
  options: { secrets: readonly string[]; limitBytes: number },
): RawRequest {
  const redact = redactor(options.secrets);
  const cut: string[] = [];
  const limit = formatBytes(options.limitBytes);

  const headers: Record<string, string> = {};
  let longHeaders = 0;
  for (const [name, value] of Object.entries(input.headers)) {
    if (value === undefined || credentialHeaders.has(name)) continue;
    const text = redact(Array.isArray(value) ? value.join(', ') : value);
    if (text.length > headerValueLimit) longHeaders += 1;
    headers[name] = cutText(text, headerValueLimit);
  }
  if (longHeaders > 0) {
    cut.push(`${longHeaders} header value(s) longer than ${headerValueLimit} characters shortened`);
  }
  const fullUrl = redact(withoutTokenParam(input.url));
  if (fullUrl.length > urlLimit) cut.push(`url: first ${urlLimit} of ${fullUrl.length} characters kept`);
  const url = cutText(fullUrl, urlLimit);

  const base = {
    method: input.method,
    url,
    headers,
    ...(input.contentType === undefined ? {} : { contentType: redact(input.contentType) }),
  };
  // What is left once the URL and headers are in (RAW_REQUEST_LIMIT is at least 32kb, Node's header limit
  // is 16kb), less room for the notes themselves.
  let room = options.limitBytes - jsonBytes(base) - 1024;

  // Kitsu's own fields first: they are what the page is read for.
  const names = Object.keys(input.fields)
    .filter((name) => name !== tokenParam)
    .sort((a, b) => Number(knownKitsuFields.has(b)) - Number(knownKitsuFields.has(a)));
  const bodyRedacted = redact(input.body);
  const fieldsRoom = bodyRedacted === '' ? room : Math.floor(room / 2);
  const fields: Record<string, unknown> = {};
  const shortened: string[] = [];
  const leftOut: string[] = [];
  let fieldsSize = 2;
  for (const name of names) {
    const { value, note } = cutField(redactValue(input.fields[name], redact), fieldValueLimit);
    const size = jsonBytes(name) + jsonBytes(value) + 2;
    if (fieldsSize + size > fieldsRoom) {
      leftOut.push(name);
      continue;
    }
    if (note !== undefined) shortened.push(`${name} (${note})`);
    fields[name] = value;
    fieldsSize += size;
  }
  if (shortened.length > 0) {
    cut.push(`fields shortened to ${fieldValueLimit} bytes each: ${listed(shortened)}`);
  }
  if (leftOut.length > 0) {
    cut.push(
      `${leftOut.length} of ${names.length} fields left out: ${listed(leftOut)} (RAW_REQUEST_LIMIT=${limit})`,
    );
  }
  room -= fieldsSize;

  const body = cutToBytes(bodyRedacted, Math.max(0, room));
  if (body.length < bodyRedacted.length) {
    const total = Buffer.byteLength(bodyRedacted, 'utf8');
    const kept = formatBytes(Buffer.byteLength(body, 'utf8'));
    cut.push(`body: first ${kept} of ${formatBytes(total)} kept (RAW_REQUEST_LIMIT=${limit})`);
  }
  return {
    ...base,
    body,
    fields,
    ...(cut.length === 0 ? {} : { cut }),
  };
}
