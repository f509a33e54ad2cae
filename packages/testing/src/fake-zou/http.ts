import type { FakeZouState, PersonRow } from './model.ts';
import type { TokenStore } from './tokens.ts';

/** What a route handler sees. */
export interface PublicCtx {
  method: string;
  /** Path after the prefix: `/data/tasks/<id>`. */
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  /** Parsed JSON body; undefined when none. */
  body: unknown;
  state: FakeZouState;
  tokens: TokenStore;
  now: () => number;
  settings: FakeZouSettings;
  /** The request's User-Agent ('' when none): Zou sets its JWT cookies for browsers only. */
  userAgent: string;
}

/** What a handler of a route that requires a token sees: the caller is known. */
export interface Ctx extends PublicCtx {
  user: PersonRow;
}

export interface FakeZouSettings {
  tokenTtlMs: number;
  refreshTtlMs: number;
  pageSize: number;
}

export interface Answer {
  status: number;
  body?: unknown;
  headers?: Record<string, string | string[]>;
}

/** Thrown by handlers; becomes Zou's `{ error: true, message }` body (or `body` as given). */
export class HttpError extends Error {
  readonly status: number;
  readonly body: Record<string, unknown>;

  constructor(
    status: number,
    message: string,
    extra: Record<string, unknown> = {},
    body?: Record<string, unknown>,
  ) {
    super(message);
    this.status = status;
    this.body = body ?? { error: true, message, ...extra };
  }
}

interface RouteBase {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** `/data/tasks/:id` style. */
  path: string;
  /** `strict`: a body must be sent as application/json (Flask's request.json, 415 otherwise). */
  body?: 'strict' | 'silent';
}

export type Route =
  | (RouteBase & { auth: 'access' | 'refresh'; handle: (ctx: Ctx) => Answer })
  | (RouteBase & { auth: 'none'; handle: (ctx: PublicCtx) => Answer });

export const FORBIDDEN_MESSAGE =
  "You don't have the permission to access the requested resource. It is either read-protected or not readable by the server.";

/** Werkzeug's 404 text: Zou answers it for an unknown route and for every unknown id alike. */
export const NOT_FOUND_MESSAGE =
  '404 Not Found: The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.';

/** Zou's WrongParameterException: `{ error: true, message, data: null }`. */
export const badRequest = (message: string, data: Record<string, unknown> | null = null) =>
  new HttpError(400, message, { data });
/** What Zou's CRUD create/update answer for a database error: `{ message }` alone, no `error` flag. */
export const dbError = (message: string) => new HttpError(400, message, {}, { message });
export const forbidden = () => new HttpError(403, FORBIDDEN_MESSAGE);
/** `what` is for the fake's own readers: Zou's answer never names what was not found. */
export const notFound = (_what: string) => new HttpError(404, NOT_FOUND_MESSAGE);
export const validationError = (errors: { field: string; message: string }[]) =>
  new HttpError(400, 'Validation error.', { data: { errors } });

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/** Zou's fields.is_valid_id: anything Python's uuid.UUID() accepts (hyphens optional). */
export function isValidId(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

/** Zou stores ids lowercased with hyphens; a hyphenless id still finds the row. */
export function normalizeId(value: string): string {
  const hex = value.replace(/-/g, '').toLowerCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** `/data/<model>/<id>` (Zou's CRUD routes): 400 "Malformed ID." for a non-UUID, 404 for an unknown one. */
export function getOr404<T>(map: Map<string, T>, id: string | undefined, what: string): T {
  if (!isValidId(id)) throw badRequest('Malformed ID.');
  return findOr404(map, id, what);
}

/** Every other route (`/data/tasks/<id>/full`, `/actions/...`): 404 for a malformed id as for an unknown one. */
export function findOr404<T>(map: Map<string, T>, id: unknown, what: string): T {
  const row = isValidId(id) ? map.get(normalizeId(id)) : undefined;
  if (row === undefined) throw notFound(what);
  return row;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
