import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, startRedisServer } from '../redis-server.ts';
import { repoRoot } from '../service-process.ts';
import { startPostgres } from './postgres.ts';
import { Redis } from 'ioredis';
import { isAlive, processGroup, run, spawnGroup, waitUntil } from './processes.ts';

/** The venv holding Zou: ZOU_VENV, else the repository's `.venv` (made by scripts/setup-zou.sh). */
export function zouVenv(): string {
  const configured = process.env['ZOU_VENV'];
  const venv = configured !== undefined && configured !== '' ? configured : path.join(repoRoot, '.venv');
  if (!existsSync(path.join(venv, 'bin', 'zou'))) {
    throw new Error(
      `The real Zou is not installed in ${venv}: run \`bash scripts/setup-zou.sh\` ` +
        '(a venv with the Zou pinned in packages/testing/zou/requirements.txt), or set ZOU_VENV.',
    );
  }
  return venv;
}

export interface RealZouOptions {
  /** The first admin, made with `zou create-admin`. */
  admin?: { email: string; password: string };
  /** Gunicorn workers (gevent). Default 2. */
  workers?: number;
}

export interface RealZou {
  /** Zou's root: routes are `<url>/auth/login`, `<url>/data/...` (nginx adds `/api` in front). */
  url: string;
  port: number;
  version: string;
  admin: { email: string; password: string };
  /** The JWT signing key, so a test can forge badly signed or expired tokens. */
  secretKey: string;
  /** The temporary directory holding the database, previews and plugins; removed by `stop`. */
  dir: string;
  /** Zou's own Redis (its cache, token blocklist, events). */
  redisUrl: string;
  /** Process ids of everything started, for a test that checks nothing is left after `stop`. */
  pids(): Promise<number[]>;
  /** Stops Zou, its PostgreSQL and Redis, removes the temporary directory; idempotent. */
  stop(): Promise<void>;
}

const DEFAULT_ADMIN = { email: 'admin@studio.example', password: 'kitsu-actions-admin' };

/**
 * A real Zou for tests: a private PostgreSQL cluster and Redis on free ports in a temporary
 * directory, `zou init-db` and `init-data`, the admin (packages/testing/zou/prepare.py), and Zou served by gunicorn on a free port,
 * waited for on `GET /`. Everything is stopped and removed by `stop()`.
 */
export async function startRealZou(options: RealZouOptions = {}): Promise<RealZou> {
  const venv = zouVenv();
  const admin = options.admin ?? DEFAULT_ADMIN;
  const dir = await mkdtemp(path.join(tmpdir(), 'kitsu-actions-zou-'));
  // PostgreSQL runs as its own user under root: it must be able to reach its data directory.
  await chmod(dir, 0o755);
  const cleanups: (() => Promise<void>)[] = [async () => rm(dir, { recursive: true, force: true })];
  const stop = async (): Promise<void> => {
    const errors: unknown[] = [];
    while (cleanups.length > 0) {
      const cleanup = cleanups.pop();
      await cleanup?.().catch((error: unknown) => errors.push(error));
    }
    if (errors.length > 0) throw new AggregateError(errors, 'stopping the real Zou failed');
  };

  try {
    const database = 'zoudb';
    const postgres = await startPostgres(dir, database);
    cleanups.push(() => postgres.stop());
    const redis = await startRedisServer();
    cleanups.push(() => redis.destroy());
    const redisPid = await redisProcessId(redis.url);

    for (const sub of ['previews', 'tmp', 'plugins']) await mkdir(path.join(dir, sub));
    const secretKey = randomBytes(24).toString('hex');
    const env: NodeJS.ProcessEnv = {
      PATH: `${path.join(venv, 'bin')}:${process.env['PATH'] ?? ''}`,
      HOME: dir,
      DB_HOST: postgres.host,
      DB_PORT: String(postgres.port),
      DB_USERNAME: postgres.user,
      DB_PASSWORD: 'unused-trust-auth',
      DB_DATABASE: database,
      KV_HOST: '127.0.0.1',
      KV_PORT: String(redis.port),
      SECRET_KEY: secretKey,
      PREVIEW_FOLDER: path.join(dir, 'previews'),
      TMP_DIR: path.join(dir, 'tmp'),
      PLUGIN_FOLDER: path.join(dir, 'plugins'),
      MAIL_ENABLED: 'False',
      MAIL_CHECK_DELIVERABILITY: 'False',
      // bcrypt's cheapest cost: Zou's default (12) spends about 0.3 s of CPU on every login and person.
      BCRYPT_LOG_ROUNDS: '4',
    };
    // `zou init-db`, `init-data` and `create-admin` in one interpreter (importing Zou takes seconds).
    const prepare = path.join(repoRoot, 'packages/testing/zou/prepare.py');
    const prepared = await run(path.join(venv, 'bin', 'python'), [prepare, admin.email, admin.password], {
      env,
      cwd: dir,
    });
    if (!prepared.includes('created')) throw new Error(`Zou's database was not prepared:\n${prepared}`);

    const port = await freePort();
    const gunicorn = spawnGroup(
      path.join(venv, 'bin', 'gunicorn'),
      ['-k', 'gevent', '-w', String(options.workers ?? 2), '-b', `127.0.0.1:${String(port)}`, 'zou.app:app'],
      { ...env, PYTHONUNBUFFERED: '1' },
    );
    // SIGINT is gunicorn's quick shutdown: a test server has no request worth waiting for.
    cleanups.push(() => gunicorn.stop({ signal: 'SIGINT' }));
    const url = `http://127.0.0.1:${String(port)}`;
    let version = '';
    await waitUntil(
      async () => {
        if (gunicorn.exited()) throw new Error(`gunicorn exited:\n${gunicorn.output()}`);
        const answer = await fetch(`${url}/`).catch(() => null);
        if (answer?.status !== 200) return false;
        version = ((await answer.json()) as { version: string }).version;
        return true;
      },
      60_000,
      () => `Zou did not answer on ${url}/ within 60 s:\n${gunicorn.output()}`,
    );

    return {
      url,
      port,
      version,
      admin,
      secretKey,
      dir,
      redisUrl: redis.url,
      pids: async () => [
        ...(await processGroup(gunicorn.pid)),
        ...(await postgres.pids()),
        ...(isAlive(redisPid) ? [redisPid] : []),
      ],
      stop,
    };
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
}

async function redisProcessId(url: string): Promise<number> {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    const info = await client.info('server');
    return Number(/process_id:(\d+)/.exec(info)?.[1]);
  } finally {
    client.disconnect();
  }
}
