import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isChildMessage, type ChildMessage, type HostRole, type ParentMessage } from './messages.ts';

export type { HostRole } from './messages.ts';
export type HostEnv = Record<string, string>;

export const benchDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const repoRoot = path.resolve(benchDir, '..');
const hostFile = path.join(benchDir, 'lib', 'host.ts');

type Reached = Extract<ChildMessage, { type: 'reached' }>;

export interface Host {
  role: HostRole;
  pid: number;
  /** HTTP port of a server role; 0 for workers. */
  port: number;
  /** Worker roles: resolves once `target` jobs have finished since the worker started. */
  waitForJobs(target: number, timeoutMs: number): Promise<Reached>;
  /** CPU time the process has used since it started (user + system, every thread), in microseconds. */
  cpuUsage(timeoutMs?: number): Promise<{ userUs: number; systemUs: number }>;
  stop(): Promise<void>;
}

/**
 * Starts `bench/lib/host.ts <role>` with only the given environment (plus PATH and HOME), so nothing
 * from the caller's shell changes the service's configuration. With `profileDir`, the child runs
 * under `--cpu-prof` and writes its profile there when it stops.
 */
export async function spawnHost(
  role: HostRole,
  env: HostEnv,
  options: { profileDir?: string | undefined; startTimeoutMs?: number } = {},
): Promise<Host> {
  // One directory per process: node writes a profile per thread (tsx's loader runs in a thread of its own).
  const profile = options.profileDir
    ? ['--cpu-prof', `--cpu-prof-dir=${path.join(options.profileDir, `${role}-${Date.now()}`)}`]
    : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', hostFile, role], {
    cwd: repoRoot,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      resolve();
    }),
  );
  const died = (): Error =>
    new Error(
      `bench host ${role} exited (code ${exited?.code ?? '?'}, signal ${exited?.signal ?? 'none'}): ${stderr.trim().slice(-1500)}`,
    );

  // A mailbox: a message goes to the waiter that wants its type (`fatal` is wanted by all), else waits.
  interface Waiter {
    type: ChildMessage['type'];
    resolve: (message: ChildMessage) => void;
  }
  const inbox: ChildMessage[] = [];
  const waiters = new Set<Waiter>();
  child.on('message', (message: unknown) => {
    if (!isChildMessage(message)) return;
    for (const waiter of waiters) {
      if (message.type === waiter.type || message.type === 'fatal') {
        waiters.delete(waiter);
        waiter.resolve(message);
        return;
      }
    }
    inbox.push(message);
  });
  const next = async <T extends ChildMessage['type']>(
    type: T,
    timeoutMs: number,
  ): Promise<Extract<ChildMessage, { type: T }>> => {
    const queued = inbox.findIndex((message) => message.type === type || message.type === 'fatal');
    let message: ChildMessage | undefined = queued >= 0 ? inbox.splice(queued, 1)[0] : undefined;
    if (!message) {
      let timer: NodeJS.Timeout | undefined;
      let waiter: Waiter | undefined;
      try {
        message = await Promise.race([
          new Promise<ChildMessage>((resolve) => {
            waiter = { type, resolve };
            waiters.add(waiter);
          }),
          exit.then(() => Promise.reject(died())),
          new Promise<never>((_, reject) => {
            timer = setTimeout(
              () => reject(new Error(`bench host ${role}: no "${type}" within ${timeoutMs} ms`)),
              timeoutMs,
            );
          }),
        ]);
      } finally {
        clearTimeout(timer);
        if (waiter) waiters.delete(waiter);
      }
    }
    if (message.type === 'fatal') throw new Error(`bench host ${role} failed: ${message.message}`);
    if (message.type !== type) throw new Error(`bench host ${role}: expected ${type}, got ${message.type}`);
    return message as Extract<ChildMessage, { type: T }>;
  };
  const post = (message: ParentMessage): void => {
    if (child.connected) child.send(message);
  };

  let ready: Extract<ChildMessage, { type: 'ready' }>;
  try {
    ready = await next('ready', options.startTimeoutMs ?? 30_000);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  let stopping: Promise<void> | undefined;
  return {
    role,
    pid: child.pid ?? 0,
    port: ready.port,
    async waitForJobs(target, timeoutMs) {
      post({ type: 'watch', target });
      return next('reached', timeoutMs);
    },
    async cpuUsage(timeoutMs = 10_000) {
      post({ type: 'usage' });
      const usage = await next('usage', timeoutMs);
      return { userUs: usage.userUs, systemUs: usage.systemUs };
    },
    stop() {
      stopping ??= (async () => {
        if (exited) return;
        post({ type: 'stop' });
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exit;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}
