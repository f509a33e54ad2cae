/**
 * `pnpm start`: runs the receiver and one worker side by side for local use.
 *
 * - Checks that Redis answers at REDIS_URL; when it does not and the URL points at this machine, starts
 *   `redis-server` (data in ./.data/redis) and stops it again on the way out. On Debian and Ubuntu a
 *   missing `redis-server` is installed first (apt-get as root, or `sudo -n`).
 * - Spawns `apps/receiver` and `apps/worker`, prefixes their output with `[receiver] ` / `[worker] `,
 *   forwards SIGINT/SIGTERM to them and waits for their graceful stop; exits 0 when both stopped cleanly.
 * - If either child exits on its own, stops the other and exits non-zero.
 *
 * Signals under a supervisor (systemd, a container, `timeout`) reach only the top process, not its group.
 * `pnpm start` therefore runs `exec node --import tsx scripts/start.ts`: `exec` replaces the `sh -c` pnpm
 * runs scripts with (sh would die of pnpm's SIGTERM and ignore its SIGINT, orphaning this script), and
 * node without the `tsx` CLI (tsx relays a signal, but SIGKILLs a child that has not acknowledged it
 * within 30 ms, and this script's children would then be orphaned).
 *
 * A CLI, so console output is fine here. Production runs the two apps as separate processes (see the
 * Dockerfile and docker-compose.yml); this script is only a convenience.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import readline from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import tls from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError, exitConfig, loadConfig, repoRoot, type Config } from '@kitsu-actions/shared';
import { ensureDebianCommand } from './debian.ts';

const localHosts = new Set(['127.0.0.1', 'localhost', '::1']);
const redisDataDir = path.join(repoRoot, '.data', 'redis');
/** How long the embedded redis-server may take to answer PING after being spawned. */
const redisStartTimeoutMs = 15_000;
/** Grace given to redis-server to flush its AOF after SIGTERM before it is killed. */
const redisStopTimeoutMs = 10_000;

type Exit = { code: number | null; signal: NodeJS.Signals | null };

interface Managed {
  name: string;
  child: ChildProcess;
  exited: Promise<Exit>;
  exit: Exit | undefined;
}

let config: Config;
try {
  config = loadConfig(process.env);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`kitsu-actions start: ${error.message}`);
  process.exit(exitConfig);
}

const redisUrl = new URL(config.redis.url);
const redisHost = redisUrl.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
const redisPort = redisUrl.port === '' ? 6379 : Number(redisUrl.port);
const redisTls = redisUrl.protocol === 'rediss:';
const redisLabel = `${redisHost.includes(':') ? `[${redisHost}]` : redisHost}:${redisPort}`;

let stopping = false;
let embeddedRedis: Managed | undefined;
const services: Managed[] = [];
let stopAllPromise: Promise<void> | undefined;
/** The signal the services were asked to stop with; dying of it (before their handlers exist) is clean. */
let forwardedSignal: NodeJS.Signals | undefined;
/** Resolves on the first SIGINT/SIGTERM, so start-up phases can be cut short. */
let signalled!: (signal: NodeJS.Signals) => void;
const firstSignal = new Promise<NodeJS.Signals>((resolve) => (signalled = resolve));

process.on('SIGINT', () => onSignal('SIGINT'));
process.on('SIGTERM', () => onSignal('SIGTERM'));
// The terminal went away: stop as for SIGTERM rather than dying and orphaning the children.
process.on('SIGHUP', () => onSignal('SIGTERM'));
// Output piped into a reader that quits (`pnpm start | head`): stop everything cleanly, not crash.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', () => {
    if (!stopping) void stopAll('SIGTERM');
  });
}
// Last resort if this script dies anyway (uncaught error, process.exit elsewhere): never leave the
// apps or the embedded Redis running on their own.
process.on('exit', () => {
  for (const managed of [...services, ...(embeddedRedis === undefined ? [] : [embeddedRedis])]) {
    if (managed.exit === undefined) managed.child.kill('SIGTERM');
  }
});

let exitCode: number;
try {
  exitCode = await main();
} catch (error) {
  console.error('kitsu-actions start: unexpected error:', error);
  await stopAll('SIGTERM');
  exitCode = 1;
}
// Explicit: idle keep-alive sockets of the readiness probe must not hold the process open.
process.exit(exitCode);

async function main(): Promise<number> {
  console.log(`kitsu-actions: checking Redis at ${redisLabel}${redisTls ? ' (TLS)' : ''}...`);
  const probe = await pingRedis(config.redis.timeoutMs);
  if (probe.kind === 'not-redis') {
    console.error(
      `kitsu-actions start: something accepts connections on ${redisLabel} but it is not Redis ` +
        `(${probe.detail}). Point REDIS_URL at a Redis server, or pick a free port for the embedded one.`,
    );
    return 1;
  }
  if (probe.kind === 'redis') {
    console.log(`kitsu-actions: using the Redis at ${redisLabel}`);
  } else {
    const started = await startEmbeddedRedis(probe.reason);
    if (started !== 0) return started;
  }
  if (stopping) return finish();

  services.push(spawnService('receiver', 'apps/receiver/src/main.ts'));
  services.push(spawnService('worker', 'apps/worker/src/main.ts'));
  void announceWhenListening();

  const firstExit = await Promise.race([
    ...services.map((service) => service.exited.then(() => service)),
    ...(embeddedRedis === undefined ? [] : [embeddedRedis.exited.then(() => embeddedRedis)]),
  ]);
  if (!stopping) {
    const exit = firstExit?.exit;
    console.error(
      `kitsu-actions start: ${firstExit?.name ?? 'a process'} exited unexpectedly (${describeExit(exit)}); stopping the rest`,
    );
    await stopAll('SIGTERM');
    return exit?.code !== undefined && exit.code !== null && exit.code !== 0 ? exit.code : 1;
  }
  return finish();
}

/** Waits for the graceful stop already under way and turns the children's exits into an exit code. */
async function finish(): Promise<number> {
  await stopAll('SIGTERM');
  const failed = services.filter(
    (service) => service.exit?.code !== 0 && service.exit?.signal !== forwardedSignal,
  );
  for (const service of failed) {
    console.error(`kitsu-actions start: ${service.name} ${describeExit(service.exit)}`);
  }
  return failed.length === 0 ? 0 : 1;
}

function onSignal(signal: NodeJS.Signals): void {
  if (stopping) {
    // A terminal's Ctrl-C reaches the whole process group (the children too), and pnpm relays it as
    // well, so repeats are normal; the children cut off their own stop after SHUTDOWN_TIMEOUT_MS.
    return;
  }
  console.log(`kitsu-actions: ${signal} received, stopping (waiting for in-flight work)...`);
  signalled(signal);
  void stopAll(signal);
}

/** Stops the services (forwarding `signal`), waits for them, then stops the Redis this script started. */
function stopAll(signal: NodeJS.Signals): Promise<void> {
  stopping = true;
  forwardedSignal ??= signal;
  stopAllPromise ??= (async () => {
    for (const service of services) {
      if (service.exit === undefined) service.child.kill(signal);
    }
    // The apps stop themselves after SHUTDOWN_TIMEOUT_MS; give them a little more before killing.
    const deadline = sleep(config.worker.shutdownTimeoutMs + 5_000, 'timeout' as const, { ref: false });
    const outcome = await Promise.race([Promise.all(services.map((s) => s.exited)), deadline]);
    if (outcome === 'timeout') {
      for (const service of services) {
        if (service.exit === undefined) {
          console.error(`kitsu-actions start: ${service.name} did not stop in time; killing it`);
          service.child.kill('SIGKILL');
        }
      }
      await Promise.all(services.map((s) => s.exited));
    }
    await stopEmbeddedRedis();
  })();
  return stopAllPromise;
}

function spawnService(name: string, entry: string): Managed {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: repoRoot,
    env: process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return manage(name, child);
}

function manage(name: string, child: ChildProcess): Managed {
  const prefix = `[${name}] `;
  const pipes: [Readable | null, Writable][] = [
    [child.stdout, process.stdout],
    [child.stderr, process.stderr],
  ];
  const closed = pipes.map(([from, to]) => {
    if (from === null) return Promise.resolve();
    const lines = readline.createInterface({ input: from, crlfDelay: Infinity });
    lines.on('line', (line) => to.write(`${prefix}${line}\n`));
    return new Promise<void>((resolve) => lines.once('close', resolve));
  });
  const managed: Managed = {
    name,
    child,
    exit: undefined,
    exited: new Promise<Exit>((resolve) => {
      child.once('error', (error) => {
        console.error(`kitsu-actions start: could not run ${name}: ${error.message}`);
        managed.exit = { code: 127, signal: null };
        resolve(managed.exit);
      });
      child.once('exit', (code, signal) => {
        // Let the last output lines through before reporting the exit.
        void Promise.all(closed).then(() => {
          managed.exit = { code, signal };
          resolve(managed.exit);
        });
      });
    }),
  };
  return managed;
}

function describeExit(exit: Exit | undefined): string {
  if (exit === undefined) return 'still running';
  return exit.signal !== null ? `killed by ${exit.signal}` : `exit code ${String(exit.code)}`;
}

function replied(data: string): string {
  return `it replied ${JSON.stringify(data.length > 40 ? `${data.slice(0, 40)}...` : data)}`;
}

type Probe =
  | { kind: 'redis'; reply: string }
  | { kind: 'not-redis'; detail: string }
  | { kind: 'unreachable'; reason: string };

/**
 * Sends a raw `PING` and reads the first reply line; any RESP reply (even `-NOAUTH` or `-LOADING`) means
 * Redis answers. A connection that is accepted but never answers PING is something else on that port.
 */
function pingRedis(timeoutMs: number): Promise<Probe> {
  return new Promise((resolve) => {
    const socket = redisTls
      ? // Only a reachability probe: certificate problems are reported by the apps themselves.
        tls.connect({
          host: redisHost,
          port: redisPort,
          ...(net.isIP(redisHost) === 0 ? { servername: redisHost } : {}),
          rejectUnauthorized: false,
        })
      : net.connect({ host: redisHost, port: redisPort });
    let settled = false;
    let connected = false;
    let received = '';
    const done = (probe: Probe): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(probe);
    };
    const noReply = (why: string): void =>
      done(
        connected
          ? {
              kind: 'not-redis',
              detail: received === '' ? `it did not answer PING: ${why}` : replied(received),
            }
          : { kind: 'unreachable', reason: why },
      );
    const timer = setTimeout(() => noReply(`no answer within ${timeoutMs} ms`), timeoutMs);
    socket.setEncoding('utf8');
    socket.once(redisTls ? 'secureConnect' : 'connect', () => {
      connected = true;
      socket.write('PING\r\n');
    });
    socket.on('data', (chunk: string) => {
      received += chunk;
      if (/^[+-][^\r\n]*\r\n/.test(received)) done({ kind: 'redis', reply: received.trim() });
      else if (received.includes('\r\n') || received.length > 512)
        done({ kind: 'not-redis', detail: replied(received) });
    });
    socket.once('error', (error: NodeJS.ErrnoException) => noReply(error.code ?? error.message));
    socket.once('close', () => noReply('connection closed without a reply'));
  });
}

function explainNoRedis(reason: string, detail: string): void {
  console.error(
    [
      `kitsu-actions start: Redis does not answer at ${redisLabel} (${reason}) and ${detail}.`,
      'Get a Redis (7 or newer) in one of these ways:',
      '  - install it so `redis-server` is on the PATH (e.g. `sudo apt install redis-server`,',
      '    `brew install redis`); `pnpm start` then runs one itself with its data in ./.data/redis;',
      '  - or use the one in docker-compose.yml: `docker compose up` runs the whole stack with it; for',
      '    Redis alone, uncomment its `ports:` in docker-compose.yml and run `docker compose up -d redis`;',
      '  - or point REDIS_URL at an existing Redis, e.g. REDIS_URL=redis://redis.example:6379 pnpm start',
    ].join('\n'),
  );
}

/** Starts `redis-server` on the REDIS_URL port; returns 0 once it answers, else an exit code. */
async function startEmbeddedRedis(reason: string): Promise<number> {
  if (stopping) return 0;
  if (!localHosts.has(redisHost)) {
    explainNoRedis(reason, `${redisHost} is not this machine, so no redis-server is started for it`);
    return 1;
  }
  if (redisTls) {
    explainNoRedis(reason, 'it is a TLS (rediss://) URL, so no redis-server is started for it');
    return 1;
  }
  const binary = await ensureDebianCommand('redis-server', 'redis-server', (line) =>
    console.log(`kitsu-actions: ${line}`),
  );
  if (binary === undefined) {
    explainNoRedis(reason, '`redis-server` is not on the PATH');
    return 1;
  }
  // Debian's package may have started its own service on the default port: use it if it answers.
  const again = await pingRedis(config.redis.timeoutMs);
  if (again.kind === 'redis') {
    console.log(`kitsu-actions: using the Redis at ${redisLabel}`);
    return 0;
  }
  mkdirSync(redisDataDir, { recursive: true });
  console.log(
    `kitsu-actions: no Redis at ${redisLabel} (${reason}); starting ${binary} on port ${redisPort} ` +
      `(data in ${path.relative(process.cwd(), redisDataDir) || '.'})`,
  );
  const child = spawn(
    binary,
    [
      '--port',
      String(redisPort),
      '--bind',
      ...(redisHost === '::1' ? ['::1'] : redisHost === 'localhost' ? ['127.0.0.1', '-::1'] : ['127.0.0.1']),
      '--dir',
      redisDataDir,
      '--appendonly',
      'yes',
      '--appendfsync',
      'everysec',
      '--maxmemory-policy',
      'noeviction',
      '--save',
      '',
      '--daemonize',
      'no',
    ],
    {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: a terminal Ctrl-C must not stop Redis before the worker has finished
      // its in-flight jobs; this script stops it last.
      detached: true,
    },
  );
  embeddedRedis = manage('redis', child);
  const deadline = Date.now() + redisStartTimeoutMs;
  while (Date.now() < deadline) {
    if (stopping) return 0;
    if (embeddedRedis.exit !== undefined) {
      console.error(
        `kitsu-actions start: redis-server ${describeExit(embeddedRedis.exit)} before answering ` +
          `(see the [redis] lines above; is port ${redisPort} taken?)`,
      );
      return 1;
    }
    const probe = await pingRedis(500);
    if (probe.kind === 'redis' && probe.reply === '+PONG') {
      console.log(`kitsu-actions: redis-server answers on ${redisLabel}; it stops when this script stops`);
      return 0;
    }
    await Promise.race([sleep(200), embeddedRedis.exited, firstSignal]);
  }
  console.error(`kitsu-actions start: redis-server did not answer within ${redisStartTimeoutMs} ms`);
  await stopEmbeddedRedis();
  return 1;
}

async function stopEmbeddedRedis(): Promise<void> {
  const redis = embeddedRedis;
  if (redis === undefined || redis.exit !== undefined) return;
  console.log('kitsu-actions: stopping the redis-server started by this script...');
  redis.child.kill('SIGTERM');
  const outcome = await Promise.race([
    redis.exited,
    sleep(redisStopTimeoutMs, 'timeout' as const, { ref: false }),
  ]);
  if (outcome === 'timeout') {
    console.error('kitsu-actions start: redis-server did not stop in time; killing it');
    redis.child.kill('SIGKILL');
    await redis.exited;
  }
}

/** Prints where to go once the receiver answers its liveness probe. */
async function announceWhenListening(): Promise<void> {
  const host = ['0.0.0.0', '::', ''].includes(config.http.host) ? '127.0.0.1' : config.http.host;
  const probeUrl = `http://${host.includes(':') ? `[${host}]` : host}:${config.http.port}/healthz`;
  while (!stopping) {
    try {
      const response = await fetch(probeUrl, { signal: AbortSignal.timeout(1_000) });
      if (response.ok) {
        console.log(
          [
            '',
            `kitsu-actions: receiver listening at ${config.publicUrl}`,
            `kitsu-actions: open ${config.publicUrl}/actions to see the action catalogue; Ctrl-C stops everything`,
            '',
          ].join('\n'),
        );
        return;
      }
    } catch {
      // not up yet
    }
    await sleep(300);
  }
}
