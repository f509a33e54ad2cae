import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { repoRoot } from '@kitsu-actions/shared';
import { freePort } from '@kitsu-actions/testing';

/** How long a stopped `pnpm start` may take to exit (idle apps stop in well under a second; CI is loaded). */
const stopBoundMs = 30_000;
const appEntry = /apps\/(receiver|worker)\/src\/main\.ts/;

/** `/proc/<pid>/stat` as [state, ppid]; undefined when there is no such process. */
function statOf(pid: number): { state: string; ppid: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may hold spaces: the fields that follow start after ')'.
    const [state = '', ppid = ''] = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state, ppid: Number(ppid) };
  } catch {
    // Gone between the listing and the read.
    return undefined;
  }
}

function cmdlineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    // Gone.
    return '';
  }
}

/** Every process below `root`, from /proc. */
function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = statOf(Number(name));
    if (stat !== undefined) children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), Number(name)]);
  }
  const found: number[] = [];
  const queue = [root];
  for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
    for (const child of children.get(pid) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

/** An app process still running (a zombie has ended; a reused pid runs something else). */
function running(pid: number, cmdline: string): boolean {
  const stat = statOf(pid);
  return stat !== undefined && stat.state !== 'Z' && cmdlineOf(pid) === cmdline;
}

interface Started {
  child: ChildProcess;
  /** The receiver and worker processes with their command lines, found under the top process. */
  apps: { pid: number; cmdline: string }[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output: () => string;
}

/** Every process a test started (the top one and all below it), killed after it if still there. */
const started: { pid: number; cmdline: string }[] = [];
afterEach(() => {
  for (const proc of started.splice(0)) {
    if (running(proc.pid, proc.cmdline)) process.kill(proc.pid, 'SIGKILL');
  }
});

/** Runs `command` (a way of launching `pnpm start`) against the test Redis; resolves once it is listening. */
async function start(command: string, args: string[]): Promise<Started> {
  const child = spawn(command, args, {
    cwd: repoRoot,
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: process.env['HOME'] ?? repoRoot,
      npm_config_update_notifier: 'false',
      REDIS_URL: inject('redisUrl'),
      QUEUE_PREFIX: `{kat-${randomUUID().slice(0, 8)}}`,
      HOST: '127.0.0.1',
      PORT: String(await freePort()),
      ACTIONS_FILE: path.join(repoRoot, 'actions.example.yaml'),
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const listening = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not up within 60 s:\n${text}`)), 60_000);
    const onData = (chunk: Buffer): void => {
      text += chunk.toString();
      // Both apps up: a signal before the worker has loaded would stop a process that has done nothing.
      if (/kitsu-actions: receiver listening at /.test(text) && /\[worker\] .*"workers ready"/.test(text)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`exited before listening:\n${text}`));
    });
  });
  const top = child.pid ?? 0;
  started.push({ pid: top, cmdline: cmdlineOf(top) });
  await listening;
  const below = descendants(top).map((pid) => ({ pid, cmdline: cmdlineOf(pid) }));
  started.push(...below);
  const apps = below.filter((app) => appEntry.test(app.cmdline));
  return { child, apps, exited, output: () => text };
}

async function within<T>(promise: Promise<T>, ms: number, what: string, output: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} not within ${ms} ms; output:\n${output()}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `pnpm start`, and what it runs. Not the `tsx` CLI: it relays a signal but SIGKILLs its child when the
 * child has not acknowledged it within 30 ms, which a loaded machine misses now and then (exit 130, the
 * apps orphaned); that is why `pnpm start` runs `node --import tsx`.
 */
const launchers: { name: string; command: string; args: string[] }[] = [
  { name: 'pnpm start', command: 'pnpm', args: ['start'] },
  {
    name: 'node --import tsx scripts/start.ts',
    command: process.execPath,
    args: ['--import', 'tsx', 'scripts/start.ts'],
  },
];

describe('pnpm start under a supervisor', () => {
  for (const launcher of launchers) {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      it(`${signal} to the top process of \`${launcher.name}\` stops receiver and worker, exit code 0`, async () => {
        const run = await start(launcher.command, launcher.args);
        expect(run.apps.map((app) => appEntry.exec(app.cmdline)?.[1]).sort()).toEqual(['receiver', 'worker']);
        // Only the top process: a supervisor signals its pid, not the process group.
        run.child.kill(signal);
        const exit = await within(run.exited, stopBoundMs, `${launcher.name} exiting`, run.output);
        expect(exit).toEqual({ code: 0, signal: null });
        expect(run.apps.filter((app) => running(app.pid, app.cmdline))).toEqual([]);
        expect(run.output()).toMatch(/\[receiver\] .*"receiver stopped"/);
        expect(run.output()).toMatch(/\[worker\] .*"worker stopped"/);
      }, 90_000);
    }
  }
});
