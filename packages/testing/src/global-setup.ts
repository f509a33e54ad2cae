import type {} from 'vitest';
import { existsSync } from 'node:fs';
import type { TestProject } from 'vitest/node';
import { ensureDebianCommand } from '../../../scripts/debian.ts';
import { startRedisServer } from './redis-server.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

/** A Docker engine that answers, when one is configured or its socket exists. */
async function dockerRedis(): Promise<{ url: string; stop: () => Promise<unknown> } | undefined> {
  if (!process.env['DOCKER_HOST'] && !existsSync('/var/run/docker.sock')) return undefined;
  try {
    const { GenericContainer, Wait } = await import('testcontainers');
    const container = await new GenericContainer('redis:7-alpine')
      .withExposedPorts(6379)
      .withWaitStrategy(Wait.forLogMessage('Ready to accept connections'))
      .start();
    return {
      url: `redis://${container.getHost()}:${container.getMappedPort(6379)}`,
      stop: () => container.stop(),
    };
  } catch {
    return undefined; // no engine behind the socket: fall back to a spawned redis-server
  }
}

/**
 * Redis for the whole run: REDIS_URL when set, else a testcontainers Redis when a Docker engine
 * answers, else a redis-server spawned on a free port (installed first on Debian when missing).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const configured = process.env['REDIS_URL'];
  if (configured) {
    project.provide('redisUrl', configured);
    return () => Promise.resolve();
  }
  const docker = await dockerRedis();
  if (docker) {
    project.provide('redisUrl', docker.url);
    return async () => {
      await docker.stop();
    };
  }
  // A fresh Debian or Ubuntu machine: install redis-server rather than fail (see scripts/debian.ts).
  await ensureDebianCommand('redis-server', 'redis-server', (line) =>
    process.stderr.write(`test setup: ${line}\n`),
  );
  const server = await startRedisServer();
  project.provide('redisUrl', server.url);
  return () => server.destroy();
}
