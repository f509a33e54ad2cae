import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';

// Tokens shaped and checked like flask-jwt-extended's: HS256 JWTs, refused with 422 when malformed or
// badly signed, 401 when expired or revoked. The server-side record is authoritative (so tests can
// expire tokens at will); the `exp` claim is there for looks.

export type TokenKind = 'access' | 'refresh';

export interface TokenRecord {
  jti: string;
  personId: string;
  kind: TokenKind;
  /** Epoch ms; null = never (bots). */
  expiresAt: number | null;
  revoked: boolean;
  isBot: boolean;
}

export type TokenCheck =
  { ok: true; record: TokenRecord } | { ok: false; status: 401 | 422; message: string };

const b64url = (data: string | Buffer) => Buffer.from(data).toString('base64url');

function decodeSegment(segment: string): Record<string, unknown> | null {
  if (!/^[A-Za-z0-9_-]+$/.test(segment)) return null;
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    // Not JSON: the caller answers 422 like PyJWT.
    return null;
  }
}

export class TokenStore {
  readonly #secret: string;
  readonly #records = new Map<string, TokenRecord>();
  readonly #now: () => number;

  constructor(secret: string, now: () => number) {
    this.#secret = secret;
    this.#now = now;
  }

  issue(
    personId: string,
    kind: TokenKind,
    ttlMs: number | null,
    options: { isBot?: boolean; jti?: string; issuedAt?: number } = {},
  ): string {
    const jti = options.jti ?? randomUUID();
    const issuedAt = options.issuedAt ?? this.#now();
    const record: TokenRecord = {
      jti,
      personId,
      kind,
      expiresAt: ttlMs === null ? null : issuedAt + ttlMs,
      revoked: false,
      isBot: options.isBot ?? false,
    };
    this.#records.set(jti, record);
    const header = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
    const claims: Record<string, unknown> = {
      fresh: false,
      iat: Math.floor(issuedAt / 1000),
      jti,
      type: kind,
      sub: personId,
      nbf: Math.floor(issuedAt / 1000),
      identity_type: options.isBot === true ? 'bot' : 'person',
    };
    if (record.expiresAt !== null) claims.exp = Math.floor(record.expiresAt / 1000);
    const payload = b64url(JSON.stringify(claims));
    return `${header}.${payload}.${this.#sign(`${header}.${payload}`)}`;
  }

  check(token: string, expected: TokenKind): TokenCheck {
    const parts = token.split('.');
    if (parts.length !== 3) return { ok: false, status: 422, message: 'Not enough segments' };
    const [header, payload, signature] = parts as [string, string, string];
    if (decodeSegment(header) === null) return { ok: false, status: 422, message: 'Invalid header string' };
    const claims = decodeSegment(payload);
    if (claims === null) return { ok: false, status: 422, message: 'Invalid payload string' };
    const expectedSig = Buffer.from(this.#sign(`${header}.${payload}`));
    const givenSig = Buffer.from(signature);
    if (givenSig.length !== expectedSig.length || !timingSafeEqual(givenSig, expectedSig)) {
      return { ok: false, status: 422, message: 'Signature verification failed' };
    }
    const kind = claims.type;
    if (expected === 'access' && kind === 'refresh') {
      return { ok: false, status: 422, message: 'Only non-refresh tokens are allowed' };
    }
    if (expected === 'refresh' && kind !== 'refresh') {
      return { ok: false, status: 422, message: 'Only refresh tokens are allowed' };
    }
    const record = typeof claims.jti === 'string' ? this.#records.get(claims.jti) : undefined;
    if (record === undefined || record.revoked) {
      return { ok: false, status: 401, message: 'Token has been revoked' };
    }
    if (record.expiresAt !== null && record.expiresAt <= this.#now()) {
      return { ok: false, status: 401, message: 'Signature has expired' };
    }
    return { ok: true, record };
  }

  /** Expires every expiring token (bots' tokens never expire). */
  expireAll(kinds: readonly TokenKind[]): number {
    let count = 0;
    const now = this.#now();
    for (const record of this.#records.values()) {
      if (record.expiresAt !== null && kinds.includes(record.kind) && record.expiresAt > now) {
        record.expiresAt = now;
        count += 1;
      }
    }
    return count;
  }

  revoke(token: string): boolean {
    const claims = decodeSegment(token.split('.')[1] ?? '');
    const record = typeof claims?.jti === 'string' ? this.#records.get(claims.jti) : undefined;
    if (record === undefined) return false;
    record.revoked = true;
    return true;
  }

  #sign(input: string): string {
    return createHmac('sha256', this.#secret).update(input).digest('base64url');
  }
}
