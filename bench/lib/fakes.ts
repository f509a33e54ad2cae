/** The fakes and the private Redis of packages/testing, imported by path like apps.ts (not a dependency). */
export { startFakeFlamenco, type FakeFlamenco } from '../../packages/testing/src/fake-flamenco/index.ts';
export { startFakeZou, type FakeZou } from '../../packages/testing/src/fake-zou/index.ts';
export { startRedisServer, type RedisServer } from '../../packages/testing/src/redis-server.ts';
