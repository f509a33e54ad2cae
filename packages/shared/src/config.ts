import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { UrlScheme } from './launch-url.ts';

/**
 * Where the shipped `actions.example.yaml` lives: the repository root, or the image's /app. The nearest
 * directory above this module that holds it, whether this runs from packages/shared/src or bundled into
 * an app's dist/.
 */
export const repoRoot = exampleRoot(path.dirname(fileURLToPath(import.meta.url)));

function exampleRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'actions.example.yaml'))) return dir;
    if (path.dirname(dir) === dir) return path.resolve(from, '../../..');
  }
}

const port = z.coerce.number().int().min(1).max(65535);
const positiveInt = z.coerce.number().int().positive();
const duration = z.coerce.number().int().min(0);

const commaList = z
  .string()
  .default('')
  .transform((value) =>
    value
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== ''),
  );

const origin = z.string().refine((value) => {
  try {
    return new URL(value).origin === value;
  } catch {
    return false;
  }
}, 'each origin must be scheme://host[:port] with no path or trailing slash, e.g. https://kitsu.studio.example');

/** `FRAME_ANCESTORS`: who may show the receiver's pages in a frame (CSP sources); none when unset. */
const frameAncestors = commaList.pipe(
  z.array(
    z
      .string()
      .transform((source) =>
        /^'?(self|none)'?$/i.test(source) ? `'${source.replace(/'/g, '').toLowerCase()}'` : source,
      )
      .pipe(z.union([z.enum(["'self'", "'none'"]), origin])),
  ),
);

const bytes = z
  .string()
  .regex(/^\d+(kb|mb|b)?$/i, 'expected a size such as 1mb, 512kb or 1048576')
  .transform((value) => {
    const match = /^(\d+)(kb|mb|b)?$/i.exec(value);
    const amount = Number(match?.[1]);
    const unit = (match?.[2] ?? 'b').toLowerCase();
    return amount * (unit === 'mb' ? 1024 * 1024 : unit === 'kb' ? 1024 : 1);
  });

/** Who the receiver believes is calling: see README "Who is calling" and DESIGN §6. */
export const AuthMode = z.enum(['zou-session', 'token', 'none']);
export type AuthMode = z.infer<typeof AuthMode>;

/**
 * Every setting of both apps, read from the environment once in each main.ts.
 * `.env.example` documents the same list; keep them in step.
 */
export const Config = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    PORT: port.default(8080),
    // Unset: 127.0.0.1 under AUTH_MODE=none (nobody else can act as anyone), else 0.0.0.0.
    HOST: z.string().min(1).optional(),
    PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
    REDIS_URL: z.url({ protocol: /^rediss?$/ }).default('redis://127.0.0.1:6379'),
    QUEUE_PREFIX: z
      .string()
      .regex(
        /^[^:\s]+$/,
        'no colons or spaces; keep the {braces} so every key lands in one Redis Cluster slot',
      )
      .default('{kitsu-actions}'),
    ACTIONS_FILE: z.string().min(1).optional(),
    KITSU_ORIGINS: commaList.pipe(z.array(origin)),
    // The schemes launch actions may open (rv://, kabaret://, …); javascript:, data:, file: and http(s):
    // never, whatever this says.
    LAUNCH_SCHEMES: commaList
      .transform((schemes) => (schemes.length === 0 ? ['rv', 'rvlink', 'kabaret'] : schemes))
      .pipe(z.array(UrlScheme)),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    WORKER_CONCURRENCY: positiveInt.max(1000).optional(),
    DEDUP_WINDOW_MS: duration.default(10_000),
    MAX_SELECTION: positiveInt.default(5000),
    BODY_LIMIT: bytes.default(1024 * 1024),
    RAW_REQUEST_LIMIT: bytes.pipe(z.number().min(32 * 1024, 'at least 32kb')).default(64 * 1024),
    JOB_DATA_LIMIT: bytes.pipe(z.number().min(64 * 1024, 'at least 64kb')).default(512 * 1024),
    RESULT_PAGE_LIMIT: bytes.pipe(z.number().min(64 * 1024, 'at least 64kb')).default(2 * 1024 * 1024),
    RATE_LIMIT_WINDOW_S: positiveInt.max(3600).default(60),
    RATE_LIMIT_PER_ADDRESS: duration.default(600),
    RATE_LIMIT_PER_PERSON: duration.default(60),
    HTTP_HEADERS_TIMEOUT_MS: positiveInt.min(100).default(10_000),
    HTTP_REQUEST_TIMEOUT_MS: positiveInt.min(100).default(30_000),
    HTTP_KEEP_ALIVE_TIMEOUT_MS: positiveInt.default(5_000),
    HTTP_MAX_CONNECTIONS: positiveInt.default(1024),
    FRAME_ANCESTORS: frameAncestors,
    REDIS_TIMEOUT_MS: positiveInt.default(800),
    KEEP_COMPLETED_AGE_S: positiveInt.default(7 * 24 * 3600),
    KEEP_COMPLETED_COUNT: positiveInt.default(10_000),
    KEEP_FAILED_AGE_S: positiveInt.default(30 * 24 * 3600),
    KEEP_FAILED_COUNT: positiveInt.default(10_000),
    STATUS_REFRESH_S: positiveInt.max(60).default(2),
    SHUTDOWN_TIMEOUT_MS: positiveInt.default(30_000),
    AUTH_MODE: AuthMode.optional(),
    KITSU_URL: z.url({ protocol: /^https?$/ }).optional(),
    KITSU_BOT_TOKEN: z
      .string()
      .regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, 'expected a Kitsu bot token (a JWT)')
      .optional(),
    KITSU_TIMEOUT_MS: positiveInt.default(10_000),
    ACTIONS_TOKEN: z.string().min(16, 'use at least 16 characters (e.g. openssl rand -hex 24)').optional(),
    SESSION_CACHE_S: duration.max(300).default(30),
    JOB_LOCK_MS: positiveInt.min(500).default(30_000),
    STALLED_CHECK_MS: positiveInt.min(500).default(30_000),
    FLAMENCO_URL: z.url({ protocol: /^https?$/ }).optional(),
    AFANASY_HOST: z.string().trim().min(1).optional(),
    AFANASY_PORT: port.default(51000),
    AFANASY_JOB_URL: z
      .string()
      .regex(
        /^https?:\/\/\S+$/,
        'expected an http(s) URL with {id} and/or {serial}, e.g. http://cgru:8080/#{id}',
      )
      .optional(),
    FARM_TIMEOUT_MS: positiveInt.default(15_000),
    FARM_RETRIES: duration.max(20).default(4),
    FARM_POLL_INTERVAL_MS: positiveInt.min(10).default(5_000),
    FARM_POLL_MAX_INTERVAL_MS: positiveInt.min(10).default(60_000),
    FARM_UNREACHABLE_TIMEOUT_S: positiveInt.default(600),
  })
  .superRefine((env, ctx) => {
    const problem = (name: string, message: string): void => {
      ctx.addIssue({ code: 'custom', path: [name], message });
    };
    if (env.AUTH_MODE === undefined && env.KITSU_URL !== undefined) {
      problem(
        'AUTH_MODE',
        'required when KITSU_URL is set: zou-session (the Kitsu session decides who is calling), token (a shared secret in the action URL) or none (trust the request as sent)',
      );
    }
    if (env.AUTH_MODE === 'zou-session') {
      if (env.KITSU_URL === undefined) problem('KITSU_URL', 'required with AUTH_MODE=zou-session');
      if (env.KITSU_BOT_TOKEN === undefined) {
        problem('KITSU_BOT_TOKEN', 'required with AUTH_MODE=zou-session (the selection is checked with it)');
      }
    }
    if (env.AUTH_MODE === 'token' && env.ACTIONS_TOKEN === undefined) {
      problem('ACTIONS_TOKEN', 'required with AUTH_MODE=token');
    }
    if (env.KITSU_BOT_TOKEN !== undefined && env.KITSU_URL === undefined) {
      problem('KITSU_URL', 'required with KITSU_BOT_TOKEN (where is Kitsu?)');
    }
    if (env.HTTP_HEADERS_TIMEOUT_MS > env.HTTP_REQUEST_TIMEOUT_MS) {
      problem('HTTP_HEADERS_TIMEOUT_MS', 'must not be above HTTP_REQUEST_TIMEOUT_MS');
    }
    if (env.RAW_REQUEST_LIMIT >= env.JOB_DATA_LIMIT) {
      problem('RAW_REQUEST_LIMIT', 'must be below JOB_DATA_LIMIT (the copy is part of the job data)');
    }
    if (env.FRAME_ANCESTORS.length > 1 && env.FRAME_ANCESTORS.includes("'none'")) {
      problem('FRAME_ANCESTORS', 'none cannot be combined with other sources');
    }
    if (env.FARM_POLL_MAX_INTERVAL_MS < env.FARM_POLL_INTERVAL_MS) {
      problem('FARM_POLL_MAX_INTERVAL_MS', 'must not be below FARM_POLL_INTERVAL_MS');
    }
  })
  .transform((env) => ({
    env: env.NODE_ENV,
    http: {
      port: env.PORT,
      host: env.HOST ?? ((env.AUTH_MODE ?? 'none') === 'none' ? '127.0.0.1' : '0.0.0.0'),
      headersTimeoutMs: env.HTTP_HEADERS_TIMEOUT_MS,
      requestTimeoutMs: env.HTTP_REQUEST_TIMEOUT_MS,
      keepAliveTimeoutMs: env.HTTP_KEEP_ALIVE_TIMEOUT_MS,
      maxConnections: env.HTTP_MAX_CONNECTIONS,
      /** CSP `frame-ancestors` of every HTML answer. */
      frameAncestors: env.FRAME_ANCESTORS.length === 0 ? ["'none'"] : [...new Set(env.FRAME_ANCESTORS)],
    },
    publicUrl: (env.PUBLIC_URL ?? `http://localhost:${env.PORT}`).replace(/\/+$/, ''),
    redis: { url: env.REDIS_URL, timeoutMs: env.REDIS_TIMEOUT_MS },
    queuePrefix: env.QUEUE_PREFIX,
    actionsFile: resolveActionsFile(env.ACTIONS_FILE),
    kitsuOrigins: env.KITSU_ORIGINS,
    launchSchemes: env.LAUNCH_SCHEMES,
    logLevel: env.LOG_LEVEL,
    worker: {
      concurrency: env.WORKER_CONCURRENCY,
      shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
      lockMs: env.JOB_LOCK_MS,
      stalledCheckMs: env.STALLED_CHECK_MS,
    },
    requests: {
      dedupWindowMs: env.DEDUP_WINDOW_MS,
      maxSelection: env.MAX_SELECTION,
      bodyLimitBytes: env.BODY_LIMIT,
    },
    storage: {
      rawRequestBytes: env.RAW_REQUEST_LIMIT,
      jobDataBytes: env.JOB_DATA_LIMIT,
      resultPageBytes: env.RESULT_PAGE_LIMIT,
    },
    rateLimits: {
      windowMs: env.RATE_LIMIT_WINDOW_S * 1000,
      perAddress: env.RATE_LIMIT_PER_ADDRESS,
      perPerson: env.RATE_LIMIT_PER_PERSON,
    },
    retention: {
      completed: { age: env.KEEP_COMPLETED_AGE_S, count: env.KEEP_COMPLETED_COUNT },
      failed: { age: env.KEEP_FAILED_AGE_S, count: env.KEEP_FAILED_COUNT },
    },
    statusRefreshSeconds: env.STATUS_REFRESH_S,
    auth: {
      // Unset only when no Kitsu is configured (the superRefine above refuses the rest): a local demo.
      mode: env.AUTH_MODE ?? 'none',
      implicit: env.AUTH_MODE === undefined,
      actionsToken: env.ACTIONS_TOKEN,
      sessionCacheMs: env.SESSION_CACHE_S * 1000,
    },
    kitsu:
      env.KITSU_URL === undefined
        ? undefined
        : { url: env.KITSU_URL, botToken: env.KITSU_BOT_TOKEN, timeoutMs: env.KITSU_TIMEOUT_MS },
    farms: {
      flamenco: env.FLAMENCO_URL === undefined ? undefined : { url: env.FLAMENCO_URL },
      afanasy:
        env.AFANASY_HOST === undefined
          ? undefined
          : { host: env.AFANASY_HOST, port: env.AFANASY_PORT, jobUrl: env.AFANASY_JOB_URL },
      timeoutMs: env.FARM_TIMEOUT_MS,
      retries: env.FARM_RETRIES,
      pollIntervalMs: env.FARM_POLL_INTERVAL_MS,
      maxPollIntervalMs: env.FARM_POLL_MAX_INTERVAL_MS,
      unreachableTimeoutMs: env.FARM_UNREACHABLE_TIMEOUT_S * 1000,
    },
  }));
export type Config = z.infer<typeof Config>;

/** `ACTIONS_FILE`, else `./actions.yaml` when present, else the shipped example. */
function resolveActionsFile(configured: string | undefined): string {
  if (configured !== undefined) return path.resolve(configured);
  const local = path.resolve('actions.yaml');
  return existsSync(local) ? local : path.join(repoRoot, 'actions.example.yaml');
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Variables whose value is a credential: a problem with one names it, never shows it. */
const secretVariables: ReadonlySet<string> = new Set(['ACTIONS_TOKEN', 'KITSU_BOT_TOKEN']);

/** How a bad value is shown in a problem: secrets by their length only, URLs without a password. */
function shown(name: string, value: string): string {
  if (secretVariables.has(name)) return `(value not shown: ${value.length} characters)`;
  return `(got ${JSON.stringify(value.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*):[^@/\s]*@/i, '$1:***@'))})`;
}

/** Parses the environment; throws a ConfigError naming every bad variable. Empty values count as unset. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const present = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ''),
  );
  const parsed = Config.safeParse(present);
  if (parsed.success) return parsed.data;
  throw new ConfigError(
    parsed.error.issues.map((issue) => {
      const name = issue.path.join('.') || '(environment)';
      const variable = typeof issue.path[0] === 'string' ? issue.path[0] : undefined;
      const value = variable === undefined ? undefined : present[variable];
      return `${name}: ${issue.message}${value === undefined || variable === undefined ? '' : ` ${shown(variable, value)}`}`;
    }),
  );
}
