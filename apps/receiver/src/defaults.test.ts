import { randomUUID } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import { loadConfig } from '@kitsu-actions/shared';
import { freePort, spawnService } from '@kitsu-actions/testing';

describe('safe defaults', () => {
  it('HOST: the loopback under AUTH_MODE=none unless HOST says otherwise; every interface otherwise', () => {
    const kitsu = { KITSU_URL: 'https://kitsu.studio.example/api', KITSU_BOT_TOKEN: 'aaaa.bbbb.cccc' };
    expect(loadConfig({}).http.host).toBe('127.0.0.1');
    expect(loadConfig({ AUTH_MODE: 'none' }).http.host).toBe('127.0.0.1');
    expect(loadConfig({ AUTH_MODE: 'none', HOST: '0.0.0.0' }).http.host).toBe('0.0.0.0');
    expect(loadConfig({ AUTH_MODE: 'token', ACTIONS_TOKEN: 'x'.repeat(16) }).http.host).toBe('0.0.0.0');
    expect(loadConfig({ AUTH_MODE: 'zou-session', ...kitsu }).http.host).toBe('0.0.0.0');
  });

  it('the receiver started with no HOST and no AUTH_MODE listens on 127.0.0.1 only', async () => {
    const port = await freePort();
    const receiver = spawnService('apps/receiver/src/main.ts', {
      REDIS_URL: inject('redisUrl'),
      PORT: String(port),
      QUEUE_PREFIX: `{kat-${randomUUID().slice(0, 8)}}`,
    });
    try {
      await receiver.waitFor(/receiver listening/);
      expect(receiver.output()).toMatch(/"host":"127\.0\.0\.1","port":\d+,"msg":"receiver listening"/);
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    } finally {
      await receiver.stop();
    }
  });
});
