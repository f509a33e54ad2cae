import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';

/** The problems a refused configuration names, one a line; fails unless loadConfig throws a ConfigError. */
function problemsOf(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.join('\n');
    throw error;
  }
  throw new Error('expected the configuration to be refused');
}

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
    const problems = problemsOf({
      PORT: 'eighty',
      KITSU_ORIGINS: 'https://kitsu.example/',
      QUEUE_PREFIX: 'a:b',
      LOG_LEVEL: 'loud',
    });
    expect(problems).toMatch(/^PORT: .*\(got "eighty"\)$/m);
    expect(problems).toMatch(/^KITSU_ORIGINS.*no path or trailing slash/m);
    expect(problems).toMatch(/^QUEUE_PREFIX: no colons/m);
    expect(problems).toMatch(/^LOG_LEVEL: /m);
  });

  it('treats empty values as unset', () => {
    expect(loadConfig({ PORT: '', REDIS_URL: '' }).http.port).toBe(8080);
  });

  describe('AUTH_MODE', () => {
    const url = 'https://kitsu.studio.example/api';
    const bot = 'aaaa.bbbb.cccc';

    it('is none, marked implicit, only when no Kitsu is configured', () => {
      expect(loadConfig({}).auth).toMatchObject({ mode: 'none', implicit: true });
      expect(loadConfig({ AUTH_MODE: 'none' }).auth).toMatchObject({ mode: 'none', implicit: false });
      expect(problemsOf({ KITSU_URL: url })).toMatch(/^AUTH_MODE: required when KITSU_URL is set/m);
    });

    it('zou-session needs Kitsu and a bot token; token mode needs a long enough secret', () => {
      expect(problemsOf({ AUTH_MODE: 'zou-session' })).toMatch(/^KITSU_URL: required/m);
      expect(problemsOf({ AUTH_MODE: 'zou-session', KITSU_URL: url })).toMatch(/^KITSU_BOT_TOKEN: required/m);
      expect(problemsOf({ AUTH_MODE: 'token' })).toMatch(/^ACTIONS_TOKEN: required/m);
      expect(problemsOf({ AUTH_MODE: 'token', ACTIONS_TOKEN: 'short' })).toMatch(/^ACTIONS_TOKEN: .*16/m);
      expect(problemsOf({ AUTH_MODE: 'tokens' })).toMatch(/^AUTH_MODE: /m);
      expect(problemsOf({ AUTH_MODE: 'none', KITSU_BOT_TOKEN: 'not a jwt' })).toMatch(/^KITSU_BOT_TOKEN: /m);
      const config = loadConfig({ AUTH_MODE: 'zou-session', KITSU_URL: url, KITSU_BOT_TOKEN: bot });
      expect(config.auth).toMatchObject({ mode: 'zou-session', implicit: false, sessionCacheMs: 30_000 });
      expect(config.kitsu).toEqual({ url, botToken: bot, timeoutMs: 10_000 });
    });
  });

  describe('render farms', () => {
    it('none by default, with timings a long render can live with', () => {
      expect(loadConfig({}).farms).toEqual({
        flamenco: undefined,
        afanasy: undefined,
        timeoutMs: 15_000,
        retries: 4,
        pollIntervalMs: 5000,
        maxPollIntervalMs: 60_000,
        unreachableTimeoutMs: 600_000,
      });
    });

    it('reads the farms and refuses bad values by name', () => {
      const config = loadConfig({
        FLAMENCO_URL: 'http://flamenco:8080',
        AFANASY_HOST: 'cgru',
        AFANASY_PORT: '51001',
        FARM_UNREACHABLE_TIMEOUT_S: '30',
      });
      expect(config.farms.flamenco).toEqual({ url: 'http://flamenco:8080' });
      expect(config.farms.afanasy).toEqual({ host: 'cgru', port: 51001, jobUrl: undefined });
      expect(config.farms.unreachableTimeoutMs).toBe(30_000);
      const problems = problemsOf({
        FLAMENCO_URL: 'flamenco:8080',
        AFANASY_PORT: '70000',
        FARM_POLL_INTERVAL_MS: '10000',
        FARM_POLL_MAX_INTERVAL_MS: '5000',
      });
      expect(problems).toMatch(/^FLAMENCO_URL: .*\(got "flamenco:8080"\)$/m);
      expect(problems).toMatch(/^AFANASY_PORT: /m);
      expect(problems).toMatch(/^FARM_POLL_MAX_INTERVAL_MS: must not be below FARM_POLL_INTERVAL_MS/m);
    });
  });
});
