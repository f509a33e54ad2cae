import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../service-process.ts';
import { startRealZou } from './server.ts';

const pinned = /^zou==(\S+)$/m.exec(
  readFileSync(path.join(repoRoot, 'packages/testing/zou/requirements.txt'), 'utf8'),
)?.[1];

describe('startRealZou', () => {
  it('serves the pinned Zou, logs its admin in, and leaves no process or file behind', async () => {
    const zou = await startRealZou({
      admin: { email: 'harness@studio.example', password: 'harness-pass-1' },
    });
    let stopped = false;
    try {
      expect(zou.version).toBe(pinned);
      const root: unknown = await (await fetch(`${zou.url}/`)).json();
      expect(root).toEqual({ api: 'Zou', version: pinned });

      const login = await fetch(`${zou.url}/auth/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(zou.admin),
      });
      expect(login.status).toBe(200);
      const body = (await login.json()) as { login: boolean; user: { email: string; role: string } };
      expect(body).toMatchObject({ login: true, user: { email: 'harness@studio.example', role: 'admin' } });

      // Gunicorn's master and workers, the postmaster and its backends, Zou's Redis.
      const running = await zou.pids();
      expect(running.length).toBeGreaterThanOrEqual(5);
      expect(existsSync(zou.dir)).toBe(true);

      await zou.stop();
      stopped = true;
      expect(await zou.pids()).toEqual([]);
      expect(existsSync(zou.dir)).toBe(false);
      await expect(fetch(`${zou.url}/`)).rejects.toThrow(/fetch failed/);
      // A second stop is harmless.
      await zou.stop();
    } finally {
      if (!stopped) await zou.stop();
    }
  });
});
