import type { Redis } from 'ioredis';
import type { Middleware } from 'koa';
import type { Config, Logger } from '@kitsu-actions/shared';
import { HttpProblem } from './errors.ts';

/**
 * One fixed window per key, counted in Redis so that every receiver replica shares it: the first hit
 * creates the counter with the window as its TTL, in one atomic step (a crash between INCR and PEXPIRE
 * would otherwise leave a counter that never expires).
 */
const hitScript = `
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return { count, ttl }
`;

type HitCommand = (key: string, windowMs: number) => Promise<[number, number]>;

export type RateBucket = 'address' | 'person';

export interface RateLimiter {
  /** Counts one request of `key` in `bucket`; throws a 429 HttpProblem past the bucket's limit. */
  hit(bucket: RateBucket, key: string): Promise<void>;
}

const settingOf: Record<RateBucket, string> = {
  address: 'RATE_LIMIT_PER_ADDRESS',
  person: 'RATE_LIMIT_PER_PERSON',
};

/**
 * Rate limits in Redis under `<prefix>:rate:<bucket>:<key>`. A limit of 0 is off. When Redis cannot
 * count (down, slow), the request goes on: the queue itself then answers 503, and a limiter must not
 * turn an outage into refusals of its own.
 */
export function createRateLimiter(
  connection: Redis,
  config: Pick<Config, 'rateLimits' | 'queuePrefix' | 'redis'>,
  logger: Logger,
): RateLimiter {
  const { windowMs, perAddress, perPerson } = config.rateLimits;
  const limits: Record<RateBucket, number> = { address: perAddress, person: perPerson };
  const command = 'kitsuActionsRateHit';
  if (!(command in connection)) connection.defineCommand(command, { numberOfKeys: 1, lua: hitScript });
  const run = (connection as unknown as Record<string, HitCommand>)[command];
  if (run === undefined) throw new Error('the rate limit script could not be defined on the connection');
  const hit: HitCommand = run.bind(connection);

  return {
    async hit(bucket, key) {
      const limit = limits[bucket];
      if (limit === 0) return;
      if (connection.status !== 'ready') return;
      let count: number;
      let ttl: number;
      try {
        [count, ttl] = await withTimeout(
          hit(`${config.queuePrefix}:rate:${bucket}:${key}`, windowMs),
          config.redis.timeoutMs,
        );
      } catch (error) {
        logger.warn({ err: error, bucket }, 'rate limit not counted: Redis did not answer');
        return;
      }
      if (count <= limit) return;
      const seconds = Math.max(1, Math.ceil(ttl / 1000));
      const windowS = Math.round(windowMs / 1000);
      const who = bucket === 'person' ? 'This person has run' : 'This address has sent';
      const what = bucket === 'person' ? 'actions' : 'requests';
      throw new HttpProblem(
        429,
        'rate_limited',
        `${who} more than ${limit} ${what} in ${windowS} s (${settingOf[bucket]}); nothing was done. Try again in ${seconds} s.`,
        { limit, windowSeconds: windowS, retryAfterSeconds: seconds },
        { 'Retry-After': String(seconds) },
      );
    },
  };
}

async function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Probes that must answer while a flood is refused: liveness and readiness. */
const unlimitedPaths: ReadonlySet<string> = new Set(['/healthz', '/readyz']);

/** Every request but the probes counts against its client address. */
export function limitByAddress(limiter: RateLimiter): Middleware {
  return async (ctx, next) => {
    if (!unlimitedPaths.has(ctx.path)) await limiter.hit('address', ctx.ip);
    await next();
  };
}
