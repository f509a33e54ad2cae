import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';

// Tokens shaped and checked like flask-jwt-extended's in Zou: HS256 JWTs, refused with 422 when malformed
// or badly signed, 401 when expired or revoked, with flask-jwt-extended's `{ msg }` bodies (Zou answers
// an expired token itself: `{ error, message }`). Like Zou, a person's token is good on its signature and
// claims alone: the store only remembers what was revoked or expired early (`expireAll`), so a token
// signed with the secret elsewhere works too. A bot's token must be the one the store issued (Zou keeps
// the bot's current jti on the person).

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
  | { ok: true; personId: string }
  | { ok: false; status: 401 | 422; message: string; body: Record<string, unknown> };

/** flask-jwt-extended's own refusals answer `{ msg }`. */
const refused = (status: 401 | 422, message: string): TokenCheck => ({
  ok: false,
  status,
  message,
  body: { msg: message },
});

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

  /** In PyJWT's order: the shape, the signature, the expiry, then flask-jwt-extended's type and blocklist. */
  check(token: string, expected: TokenKind): TokenCheck {
    const parts = token.split('.');
    if (parts.length !== 3) return refused(422, 'Not enough segments');
    const [header, payload, signature] = parts as [string, string, string];
    if (decodeSegment(header) === null) return refused(422, 'Invalid header string');
    const claims = decodeSegment(payload);
    if (claims === null) return refused(422, 'Invalid payload string');
    const expectedSig = Buffer.from(this.#sign(`${header}.${payload}`));
    const givenSig = Buffer.from(signature);
    if (givenSig.length !== expectedSig.length || !timingSafeEqual(givenSig, expectedSig)) {
      return refused(422, 'Signature verification failed');
    }
    const record = typeof claims.jti === 'string' ? this.#records.get(claims.jti) : undefined;
    const expiresAt =
      record !== undefined ? record.expiresAt : typeof claims.exp === 'number' ? claims.exp * 1000 : null;
    if (expiresAt !== null && expiresAt <= this.#now()) {
      const message = 'Signature has expired';
      return { ok: false, status: 401, message, body: { error: true, message } };
    }
    const kind = claims.type;
    if (expected === 'access' && kind === 'refresh')
      return refused(422, 'Only non-refresh tokens are allowed');
    if (expected === 'refresh' && kind !== 'refresh') return refused(422, 'Only refresh tokens are allowed');
    const identity = claims.identity_type;
    const revoked =
      typeof claims.jti !== 'string' ||
      record?.revoked === true ||
      (identity === 'person'
        ? false
        : identity === 'bot' || identity === 'person_api'
          ? record === undefined
          : true);
    if (revoked) return refused(401, 'Token has been revoked');
    if (typeof claims.sub !== 'string') return refused(422, 'Subject must be a string');
    return { ok: true, personId: claims.sub };
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

  /** Like Zou's logout: the jti goes on the blocklist, whoever signed the token. */
  revoke(token: string): boolean {
    const claims = decodeSegment(token.split('.')[1] ?? '');
    if (typeof claims?.jti !== 'string' || typeof claims.sub !== 'string') return false;
    const record = this.#records.get(claims.jti);
    if (record !== undefined) {
      record.revoked = true;
      return true;
    }
    this.#records.set(claims.jti, {
      jti: claims.jti,
      personId: claims.sub,
      kind: claims.type === 'refresh' ? 'refresh' : 'access',
      expiresAt: typeof claims.exp === 'number' ? claims.exp * 1000 : null,
      revoked: true,
      isBot: claims.identity_type === 'bot',
    });
    return true;
  }

  #sign(input: string): string {
    return createHmac('sha256', this.#secret).update(input).digest('base64url');
  }
}
