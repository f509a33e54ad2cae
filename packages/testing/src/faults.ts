import { setTimeout as delay } from 'node:timers/promises';

/** Which requests a fault (or a request-log query) applies to; no field means every request. */
export interface RouteMatcher {
  method?: string;
  /** The path as the fake sees it: an exact string or a RegExp. */
  path?: string | RegExp;
  /** Query parameters the request must carry with these values (`{ page: '2' }`); others may be there too. */
  query?: Record<string, string>;
}

export function matches(rule: RouteMatcher, method: string, path: string, query = ''): boolean {
  if (rule.method !== undefined && rule.method.toUpperCase() !== method) return false;
  if (rule.query !== undefined) {
    const params = new URLSearchParams(query);
    if (Object.entries(rule.query).some(([name, value]) => params.get(name) !== value)) return false;
  }
  if (rule.path === undefined) return true;
  return typeof rule.path === 'string' ? rule.path === path : rule.path.test(path);
}

export interface InjectedFailure {
  status: number;
  /** Sent as the Retry-After header (seconds or an HTTP date). */
  retryAfter?: string | number;
}

/** The faults a test sets on an HTTP fake: the next N answers fail, or answers come late. */
export class HttpFaults {
  private failures: Array<RouteMatcher & InjectedFailure & { remaining: number }> = [];
  private delays: Array<RouteMatcher & { ms: number }> = [];

  failNext(count: number, failure: InjectedFailure, match: RouteMatcher = {}): void {
    this.failures.push({ ...match, ...failure, remaining: count });
  }

  /** Replaces the delay set for the same method and path; 0 removes it. */
  slow(ms: number, match: RouteMatcher = {}): void {
    this.delays = this.delays.filter(
      (r) => r.method !== match.method || String(r.path) !== String(match.path),
    );
    if (ms > 0) this.delays.push({ ...match, ms });
  }

  clear(): void {
    this.failures = [];
    this.delays = [];
  }

  /** Waits the delays that apply (`query`: the request's query string) (cut short when `signal` aborts), then takes the next failure, if any. */
  async apply(
    method: string,
    path: string,
    signal: AbortSignal,
    query = '',
  ): Promise<InjectedFailure | undefined> {
    for (const rule of this.delays) {
      if (matches(rule, method, path, query)) await delay(rule.ms, undefined, { signal });
    }
    const failure = this.failures.find((rule) => rule.remaining > 0 && matches(rule, method, path, query));
    if (failure === undefined) return undefined;
    failure.remaining -= 1;
    return failure.retryAfter === undefined
      ? { status: failure.status }
      : { status: failure.status, retryAfter: failure.retryAfter };
  }
}
