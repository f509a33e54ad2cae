import type { Playlist } from './schemas.ts';

export interface ZouErrorInit {
  baseUrl: string;
  method: string;
  /** Route relative to the base URL, with a leading slash: `/data/tasks/<id>`. */
  route: string;
  /** HTTP status, or null when Zou never answered (network error, timeout). */
  status: number | null;
  /** What Zou said (`message`, or `msg` for flask-jwt-extended errors), when it said anything. */
  zouMessage: string | null;
  cause?: unknown;
}

/** Zou answered with an error status, or could not be reached. Callers branch on `status`. */
export class ZouError extends Error {
  override name = 'ZouError';
  readonly baseUrl: string;
  readonly method: string;
  readonly route: string;
  readonly status: number | null;
  readonly zouMessage: string | null;

  constructor(init: ZouErrorInit, message?: string) {
    super(
      message ??
        `Zou ${init.method} ${init.route} answered ${String(init.status)}${init.zouMessage === null ? '' : `: ${init.zouMessage}`}`,
      init.cause === undefined ? undefined : { cause: init.cause },
    );
    this.baseUrl = init.baseUrl;
    this.method = init.method;
    this.route = init.route;
    this.status = init.status;
    this.zouMessage = init.zouMessage;
  }
}

/** No HTTP answer: connection refused, DNS failure, reset, or no answer within the timeout. */
export class ZouNetworkError extends ZouError {
  override name = 'ZouNetworkError';
  readonly attempts: number;

  constructor(init: Omit<ZouErrorInit, 'status' | 'zouMessage'> & { reason: string; attempts: number }) {
    super(
      { ...init, status: null, zouMessage: null },
      `Zou at ${init.baseUrl} is unreachable (${init.method} ${init.route}): ${init.reason}` +
        (init.attempts > 1 ? ` (after ${String(init.attempts)} attempts)` : ''),
    );
    this.attempts = init.attempts;
  }
}

/** Zou refused the credentials this client was given (login, bot token or refresh token). */
export class ZouAuthError extends ZouError {
  override name = 'ZouAuthError';

  constructor(init: ZouErrorInit, what: string) {
    super(
      init,
      `Zou at ${init.baseUrl} refused ${what} (${init.method} ${init.route} answered ${String(init.status)}` +
        `${init.zouMessage === null ? '' : `: ${init.zouMessage}`})`,
    );
  }
}

/** Zou answered 2xx with a body that does not have the expected shape. */
export class ZouResponseError extends ZouError {
  override name = 'ZouResponseError';

  constructor(init: Omit<ZouErrorInit, 'zouMessage'> & { problem: string }) {
    super(
      { ...init, zouMessage: null },
      `Zou ${init.method} ${init.route} answered ${String(init.status)} with an unexpected body: ${init.problem}`,
    );
  }
}

/**
 * A playlist with that name already exists where Zou would not refuse a duplicate (no episode).
 * `existing` is that playlist, so a caller may reuse it instead.
 */
export class ZouPlaylistExistsError extends Error {
  override name = 'ZouPlaylistExistsError';
  readonly existing: Playlist;

  constructor(existing: Playlist) {
    super(`A playlist named "${existing.name}" already exists in project ${existing.project_id}`);
    this.existing = existing;
  }
}
