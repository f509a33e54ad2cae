import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { seedRealZou, type RealZouSeed } from './seed.ts';
import { startRealZou } from './server.ts';

/** What the kitsu suite's tests get with `inject('realZou')`: one seeded real Zou for the whole run. */
export interface RealZouContext {
  url: string;
  version: string;
  secretKey: string;
  admin: { email: string; password: string };
  seed: RealZouSeed;
}

declare module 'vitest' {
  export interface ProvidedContext {
    realZou: RealZouContext;
  }
}

/** Starts the real Zou once for `pnpm test:kitsu`, seeds the production through its API, stops it after. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  const zou = await startRealZou();
  try {
    const ready = Date.now();
    const seed = await seedRealZou({ url: zou.url, admin: zou.admin, bigProject: { tasks: 150 } });
    process.stdout.write(
      `real Zou ${zou.version} at ${zou.url}: started in ${String(ready - started)} ms, ` +
        `seeded in ${String(Date.now() - ready)} ms\n`,
    );
    project.provide('realZou', {
      url: zou.url,
      version: zou.version,
      secretKey: zou.secretKey,
      admin: zou.admin,
      seed,
    });
  } catch (error) {
    await zou.stop();
    throw error;
  }
  return () => zou.stop();
}
