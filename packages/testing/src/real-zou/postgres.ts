import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { freePort } from '../redis-server.ts';
import { childrenOf, isAlive, run, waitUntil } from './processes.ts';

/** The directory of PostgreSQL's server programs: PG_BIN, else Debian's newest, else the PATH. */
function postgresBin(): string {
  const configured = process.env['PG_BIN'];
  if (configured !== undefined && configured !== '') return configured;
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    const versions = readdirSync(debian)
      .filter((name) => existsSync(path.join(debian, name, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    const newest = versions[0];
    if (newest !== undefined) return path.join(debian, newest, 'bin');
  }
  return '';
}

export interface Postgres {
  host: string;
  port: number;
  user: string;
  /** The postmaster and its backends now running. */
  pids(): Promise<number[]>;
  /** Stops the server (fast shutdown) and checks that its postmaster is gone. */
  stop(): Promise<void>;
}

/**
 * A private PostgreSQL cluster in `dir`, on a free port, with trust authentication on loopback.
 * initdb and pg_ctl refuse to run as root, so under root they run as the `postgres` user.
 */
export async function startPostgres(dir: string, database: string): Promise<Postgres> {
  const bin = postgresBin();
  const program = (name: string): string => (bin === '' ? name : path.join(bin, name));
  const asRoot = process.getuid?.() === 0;
  const pg = async (name: string, args: string[]): Promise<string> =>
    asRoot ? run('runuser', ['-u', 'postgres', '--', program(name), ...args]) : run(program(name), args);

  const data = path.join(dir, 'pgdata');
  await mkdir(data, { mode: 0o700 });
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    await chown(data, uid, gid);
  }
  const user = 'postgres';
  await pg('initdb', ['-D', data, '-U', user, '--auth=trust', '-E', 'UTF8', '--no-sync']);
  const port = await freePort();
  const host = '127.0.0.1';
  // A test database: durability is not wanted, speed is.
  const options = [
    `-p ${String(port)}`,
    `-k ${data}`,
    `-c listen_addresses=${host}`,
    '-c fsync=off',
    '-c synchronous_commit=off',
    '-c full_page_writes=off',
  ].join(' ');
  await pg('pg_ctl', [
    '-D',
    data,
    '-o',
    options,
    '-l',
    path.join(data, 'server.log'),
    '-w',
    '-t',
    '60',
    'start',
  ]);
  const postmasterPid = Number((await readFile(path.join(data, 'postmaster.pid'), 'utf8')).split('\n')[0]);
  await pg('createdb', ['-h', host, '-p', String(port), '-U', user, database]);

  let stopped = false;
  return {
    host,
    port,
    user,
    pids: async () => [
      ...(isAlive(postmasterPid) ? [postmasterPid] : []),
      ...(await childrenOf(postmasterPid)),
    ],
    async stop() {
      if (stopped) return;
      stopped = true;
      await pg('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '30', 'stop']).catch(() => {
        // pg_ctl could not stop it cleanly: end it, the data is thrown away anyway.
        if (isAlive(postmasterPid)) process.kill(postmasterPid, 'SIGKILL');
      });
      await waitUntil(
        () => !isAlive(postmasterPid),
        10_000,
        () => `PostgreSQL (pid ${String(postmasterPid)}) did not stop`,
      );
    },
  };
}
