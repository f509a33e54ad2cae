import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';

describe('config', () => {
  it('has a safe default for everything a local start needs', () => {
    const config = loadConfig({});
    expect(config.http.port).toBe(8080);
    expect(config.redis.url).toBe('redis://127.0.0.1:6379');
    expect(config.queuePrefix).toBe('{kitsu-actions}');
    expect(config.publicUrl).toBe('http://localhost:8080');
    expect(config.kitsuOrigins).toEqual([]);
    expect(config.actionsFile).toMatch(/actions(\.example)?\.yaml$/);
  });

  it('reads lists, sizes and a public URL without a trailing slash', () => {
    const config = loadConfig({
      KITSU_ORIGINS: 'https://kitsu.a.example, https://kitsu.b.example:8443',
      BODY_LIMIT: '2mb',
      PUBLIC_URL: 'https://kitsu.studio.example/actions-server/',
    });
    expect(config.kitsuOrigins).toEqual(['https://kitsu.a.example', 'https://kitsu.b.example:8443']);
    expect(config.requests.bodyLimitBytes).toBe(2 * 1024 * 1024);
    expect(config.publicUrl).toBe('https://kitsu.studio.example/actions-server');
  });

  it('names every bad variable and its value', () => {
    let error: unknown;
    try {
      loadConfig({
        PORT: 'eighty',
        KITSU_ORIGINS: 'https://kitsu.example/',
        QUEUE_PREFIX: 'a:b',
        LOG_LEVEL: 'loud',
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toMatch(/^PORT: .*\(got "eighty"\)$/m);
    expect(problems).toMatch(/^KITSU_ORIGINS.*no path or trailing slash/m);
    expect(problems).toMatch(/^QUEUE_PREFIX: no colons/m);
    expect(problems).toMatch(/^LOG_LEVEL: /m);
  });

  it('treats empty values as unset', () => {
    expect(loadConfig({ PORT: '', REDIS_URL: '' }).http.port).toBe(8080);
  });
});
