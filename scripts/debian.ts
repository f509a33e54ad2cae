/**
 * Installs one of Debian's packages when a command the project needs is missing, so a fresh Debian or
 * Ubuntu machine needs nothing by hand: as root with apt-get, otherwise with `sudo -n` (never
 * prompting for a password). Elsewhere nothing is installed and the caller explains what to do.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import path from 'node:path';

/** The command's path on the PATH (or in /usr/sbin, /usr/bin), if any. */
export function findCommand(command: string): string | undefined {
  const dirs = [...(process.env['PATH'] ?? '').split(path.delimiter), '/usr/sbin', '/usr/bin'];
  for (const dir of dirs) {
    if (dir === '') continue;
    const candidate = path.join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * Makes sure `command` exists, installing Debian's `pkg` when it does not and this machine can.
 * Returns the command's path, or undefined with `log` told why not.
 */
export async function ensureDebianCommand(
  command: string,
  pkg: string,
  log: (line: string) => void,
): Promise<string | undefined> {
  const found = findCommand(command);
  if (found !== undefined) return found;
  if (!existsSync('/etc/debian_version') || findCommand('apt-get') === undefined) return undefined;
  const asRoot = process.getuid?.() === 0;
  const sudo = asRoot ? [] : ['sudo', '-n'];
  if (!asRoot && (findCommand('sudo') === undefined || (await run(['sudo', '-n', 'true'])) !== 0)) {
    log(`${command} is not installed, and installing ${pkg} needs root (sudo asks for a password)`);
    return undefined;
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = [...sudo, 'apt-get', 'install', '-y', '-qq', '--no-install-recommends', pkg];
  log(`${command} is not installed; running: ${install.join(' ')}`);
  if ((await run(install, env)) !== 0) {
    // A fresh machine may have no package lists yet.
    if ((await run([...sudo, 'apt-get', 'update', '-qq'], env)) !== 0) return undefined;
    if ((await run(install, env)) !== 0) return undefined;
  }
  return findCommand(command);
}

/** Runs a command with its output on stderr; resolves with its exit code. */
function run(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  return new Promise((resolve) => {
    const [command, ...args] = argv;
    if (command === undefined) {
      resolve(1);
      return;
    }
    const child = spawn(command, args, { env, stdio: ['ignore', 2, 2] });
    child.once('error', () => resolve(127));
    child.once('exit', (code) => resolve(code ?? 1));
  });
}
