import {
  absoluteJobLinks,
  capabilityParam,
  CatalogueError,
  jobCapabilities,
  type Catalogue,
  type CatalogueAction,
  type Config,
  type JobCapabilities,
  type JobLinks,
  type JobQueues,
  type Logger,
} from '@kitsu-actions/shared';
import { botZouClient, type ZouClient } from '@kitsu-actions/zou';
import {
  createAuthorizer,
  createJobReadAccess,
  ProjectDirectory,
  type Authorizer,
  type JobReadAccess,
} from './authorization.ts';
import type { RateLimiter } from './rate-limit.ts';
import {
  SessionCache,
  sharedTokenIdentity,
  trustingIdentity,
  zouSessionIdentity,
  type Identity,
} from './identity.ts';

/** Everything buildApp needs, made by main.ts (or a test); the app itself reads no environment. */
export interface AppDeps {
  config: Pick<
    Config,
    | 'publicUrl'
    | 'kitsuOrigins'
    | 'requests'
    | 'statusRefreshSeconds'
    | 'retention'
    | 'http'
    | 'storage'
    | 'auth'
  >;
  catalogue: Catalogue;
  queues: JobQueues;
  logger: Logger;
  /** Who is calling (AUTH_MODE); from createAccess. Required: the app never picks a trust mode itself. */
  identity: Identity;
  /** May they run this action on this selection; from createAccess. */
  authorizer: Authorizer;
  /** Requests per client address and actions per person, counted in Redis (createRateLimiter). */
  rateLimiter: RateLimiter;
  /** Who may read which job; from createAccess. */
  jobAccess: JobReadAccess;
  /** A job's URLs: absolute from PUBLIC_URL, with the job's capability under AUTH_MODE=token. */
  links: JobLinks;
  /** AUTH_MODE=token: the per-job capabilities (`?cap=`) the links carry; from createAccess. */
  capabilities?: JobCapabilities | undefined;
}

export function findAction(catalogue: Catalogue, id: string): CatalogueAction | undefined {
  return catalogue.actions.find((action) => action.id === id);
}

/** Most distinct sessions remembered at once; the oldest is forgotten first. */
const sessionCacheEntries = 1000;

/** The receiver's Zou client: the bot, with short timeouts (a person is waiting on the answer). */
export function receiverZouClient(config: Pick<Config, 'kitsu'>, logger: Logger): ZouClient | undefined {
  return botZouClient(config.kitsu, logger, { retries: 1, maxRetryAfterMs: 2000 });
}

/** Most productions remembered at once (their name and team, read with the bot). */
const projectCacheEntries = 1000;

/** Identity and authorization for the configured AUTH_MODE. Makes no request: nothing is contacted yet. */
export function createAccess(
  config: Pick<Config, 'auth' | 'kitsu' | 'publicUrl'>,
  zou: ZouClient | undefined,
  now: () => number = Date.now,
): Pick<AppDeps, 'identity' | 'authorizer' | 'jobAccess' | 'links' | 'capabilities'> {
  const { auth } = config;
  // Teams are cached as briefly as sessions: a change in Kitsu applies as soon as a new login would.
  const kitsu =
    zou === undefined
      ? undefined
      : { zou, projects: new ProjectDirectory(zou, auth.sessionCacheMs, projectCacheEntries, now) };
  const capabilities =
    auth.mode === 'token' && auth.actionsToken !== undefined ? jobCapabilities(auth.actionsToken) : undefined;
  const links = absoluteJobLinks(
    config.publicUrl,
    capabilities === undefined ? undefined : (jobId) => `${capabilityParam}=${capabilities.of(jobId)}`,
  );
  let identity: Identity;
  switch (auth.mode) {
    case 'zou-session':
      if (zou === undefined) throw new Error('AUTH_MODE=zou-session needs KITSU_URL and KITSU_BOT_TOKEN');
      identity = zouSessionIdentity(zou, new SessionCache(auth.sessionCacheMs, sessionCacheEntries, now));
      break;
    case 'token':
      if (auth.actionsToken === undefined) throw new Error('AUTH_MODE=token needs ACTIONS_TOKEN');
      identity = sharedTokenIdentity(auth.actionsToken);
      break;
    case 'none':
      identity = trustingIdentity();
      break;
  }
  return {
    identity,
    authorizer: createAuthorizer(kitsu),
    jobAccess: createJobReadAccess(kitsu?.projects),
    links,
    capabilities,
  };
}

/** Catalogue rules the auth mode cannot enforce stop the start-up, rather than refuse every click. */
export function checkCatalogueForAuth(
  catalogue: Catalogue,
  config: Pick<Config, 'auth' | 'actionsFile'>,
): void {
  if (config.auth.mode === 'zou-session') return;
  const problems = catalogue.actions.flatMap((action, index) =>
    action.allow?.roles === undefined
      ? []
      : [
          `actions[${index}].allow.roles: "${action.id}" is limited to roles, which only AUTH_MODE=zou-session can tell (AUTH_MODE is ${config.auth.mode})`,
        ],
  );
  if (problems.length > 0) throw new CatalogueError(config.actionsFile, problems);
}

/** The line main.ts logs at every start when requests are trusted as sent. */
export function trustWarning(config: Pick<Config, 'auth'>): string | undefined {
  if (config.auth.mode !== 'none') return undefined;
  return `${config.auth.implicit ? 'AUTH_MODE is not set and no KITSU_URL is configured, so AUTH_MODE=none' : 'AUTH_MODE=none'}: requests are trusted as sent; anyone who can reach this receiver can act as any Kitsu person. Set AUTH_MODE=zou-session (or token) in production.`;
}
