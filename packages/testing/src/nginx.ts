import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './redis-server.ts';
import { processGroup, spawnGroup, waitUntil, type GroupProcess } from './real-zou/processes.ts';

export interface NginxOptions {
  /**
   * What goes inside `server { … }` after its `listen`: the locations under test (e.g. the README's
   * snippet and Kitsu's `/api`). Inserted as given.
   */
  server: string;
  /** The nginx binary: NGINX_BIN, else Debian's /usr/sbin/nginx. */
  binary?: string;
}

export interface Nginx {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  url: string;
  port: number;
  /** nginx's prefix directory (config, pid, logs, temp files); removed by `stop()`. */
  dir: string;
  /** The whole nginx.conf as written. */
  config: string;
  /** nginx's stderr (its error log) and stdout so far. */
  output(): string;
  /** The master and its workers (their process group), read from /proc. */
  pids(): Promise<number[]>;
  /** Stops the master and its workers, waits until none is left, removes the directory; idempotent. */
  stop(): Promise<void>;
}

function nginxBinary(configured: string | undefined): string {
  const binary = configured ?? process.env['NGINX_BIN'] ?? '/usr/sbin/nginx';
  if (!existsSync(binary)) {
    throw new Error(`nginx is not installed at ${binary} (apt-get install nginx, or set NGINX_BIN)`);
  }
  return binary;
}

/** nginx.conf for one unprivileged server: every path nginx writes is inside `dir`, and it stays in the foreground. */
function configText(dir: string, port: number, server: string): string {
  const at = (name: string): string => path.join(dir, name);
  return `daemon off;
worker_processes 1;
pid ${at('nginx.pid')};
error_log stderr notice;

events {
    worker_connections 256;
}

http {
    access_log ${at('logs/access.log')};
    client_body_temp_path ${at('temp/client_body')};
    proxy_temp_path ${at('temp/proxy')};
    fastcgi_temp_path ${at('temp/fastcgi')};
    uwsgi_temp_path ${at('temp/uwsgi')};
    scgi_temp_path ${at('temp/scgi')};

    server {
        listen 127.0.0.1:${String(port)};
        server_name localhost;

${server}
    }
}
`;
}

/** True once nginx itself answers HTTP on the port (any status: `/` may well be a 404). */
async function answers(url: string): Promise<boolean> {
  const response = await fetch(`${url}/`, { redirect: 'manual' }).catch(() => null);
  if (response === null) return false;
  await response.body?.cancel();
  return response.headers.get('server')?.startsWith('nginx') === true;
}

/**
 * Debian's nginx on a free port of 127.0.0.1, as a child process in the foreground (`daemon off;`), with
 * a private prefix directory for its config, pid, logs and temp files, so it runs without root and
 * leaves nothing behind. Started as `nginx -p <dir> -c <dir>/nginx.conf -e stderr`; waited for until it
 * answers HTTP.
 */
export async function startNginx(options: NginxOptions): Promise<Nginx> {
  const binary = nginxBinary(options.binary);
  const dir = await mkdtemp(path.join(tmpdir(), 'kitsu-actions-nginx-'));
  // Started as root, nginx's workers run as `nobody`: they must be able to enter the prefix directory.
  await chmod(dir, 0o755);
  await mkdir(path.join(dir, 'logs'));
  await mkdir(path.join(dir, 'temp'));
  const confPath = path.join(dir, 'nginx.conf');

  let started: { child: GroupProcess; port: number; config: string } | undefined;
  let child: GroupProcess | undefined;
  try {
    // freePort() can lose the port to another process before nginx binds it: try another one then.
    for (let attempt = 1; started === undefined; attempt += 1) {
      const port = await freePort();
      const config = configText(dir, port, options.server);
      await writeFile(confPath, config);
      const spawned = spawnGroup(binary, ['-p', `${dir}/`, '-c', confPath, '-e', 'stderr'], {
        PATH: process.env['PATH'] ?? '',
      });
      child = spawned;
      const url = `http://127.0.0.1:${String(port)}`;
      await waitUntil(
        async () => spawned.exited() || (await answers(url)),
        10_000,
        () => `nginx did not answer on ${url} within 10 s:\n${spawned.output()}`,
      );
      if (!spawned.exited()) {
        started = { child: spawned, port, config };
      } else if (!/Address already in use/.test(spawned.output()) || attempt >= 3) {
        throw new Error(`nginx exited at start-up:\n${spawned.output()}\nconfig ${confPath}:\n${config}`);
      }
    }
  } catch (error) {
    await child?.stop({ graceMs: 5_000 });
    await rm(dir, { recursive: true, force: true });
    throw error;
  }

  const { port, config } = started;
  const master = started.child;
  let stopping: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${String(port)}`,
    port,
    dir,
    config,
    output: () => master.output(),
    pids: () => processGroup(master.pid),
    stop() {
      stopping ??= (async () => {
        // SIGTERM is nginx's fast shutdown; stop() resolves once no process of the group is left.
        await master.stop({ graceMs: 5_000 });
        await rm(dir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}
