import { execFile, spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** Runs a command to its end; a failure names the command and carries its output. */
export async function run(
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<string> {
  try {
    const { stdout, stderr } = await execFileAsync(command, args, {
      env: options.env ?? process.env,
      cwd: options.cwd,
      timeout: options.timeoutMs ?? 120_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    return `${stdout}${stderr}`;
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; message: string };
    const output = `${failed.stdout ?? ''}${failed.stderr ?? ''}`.trim().split('\n').slice(-30).join('\n');
    throw new Error(`${command} ${args.join(' ')} failed: ${failed.message}\n${output}`, { cause: error });
  }
}

/**
 * The processes of a process group, read from /proc (Linux): a spawned server and every worker it
 * forked, so stopping can check that none is left.
 */
export async function processGroup(pgid: number): Promise<number[]> {
  return (await liveProcesses()).filter((p) => p.pgid === pgid).map((p) => p.pid);
}

/** The live children of a process. */
export async function childrenOf(parent: number): Promise<number[]> {
  return (await liveProcesses()).filter((p) => p.ppid === parent).map((p) => p.pid);
}

async function liveProcesses(): Promise<{ pid: number; ppid: number; pgid: number }[]> {
  const out: { pid: number; ppid: number; pgid: number }[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => null);
    if (stat === null) continue;
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z') continue;
    out.push({ pid: Number(name), ppid: Number(fields[1]), pgid: Number(fields[2]) });
  }
  return out;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits until `check` holds, polling; throws `message` after `timeoutMs`. */
export async function waitUntil(
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  message: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(message());
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export interface GroupProcess {
  pid: number;
  output(): string;
  exited(): boolean;
  /** `signal` to the whole group, SIGKILL after `graceMs`; resolves once no member is left. */
  stop(options?: { signal?: NodeJS.Signals; graceMs?: number }): Promise<void>;
}

/** Spawns a server as the leader of a new process group, so it and its workers stop together. */
export function spawnGroup(command: string, args: readonly string[], env: NodeJS.ProcessEnv): GroupProcess {
  const child = spawn(command, args, { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  const keep = (chunk: Buffer): void => {
    text = (text + chunk.toString()).slice(-64 * 1024);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let ended = false;
  child.once('exit', () => {
    ended = true;
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`cannot start ${command}`);
  return {
    pid,
    output: () => text,
    exited: () => ended,
    async stop({ signal: first = 'SIGTERM', graceMs = 10_000 } = {}) {
      const signal = (name: NodeJS.Signals): void => {
        try {
          process.kill(-pid, name);
        } catch {
          // The group is already gone.
        }
      };
      signal(first);
      const deadline = Date.now() + graceMs;
      while ((await processGroup(pid)).length > 0) {
        if (Date.now() > deadline) signal('SIGKILL');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
  };
}
