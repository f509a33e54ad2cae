export { freePort, startRedisServer, type RedisServer } from './redis-server.ts';
export {
  catalogueFixture,
  cataloguesDir,
  fixturesDir,
  kitsuFixture,
  kitsuFixtures,
  replay,
  type CatalogueFixture,
  type KitsuFixture,
} from './fixtures.ts';
export { repoRoot, spawnProcess, spawnService, type ServiceProcess } from './service-process.ts';
export {
  dockerCopy,
  dockerEnv,
  parseDockerfile,
  type DockerCopy,
  type DockerInstruction,
  type DockerStage,
} from './dockerfile.ts';
export { startNginx, type Nginx, type NginxOptions } from './nginx.ts';
export * from './fake-zou/index.ts';
export * from './zou-targets.ts';
export * from './fake-flamenco/index.ts';
export * from './fake-afanasy/index.ts';
export { recordingLogger, type LogLine } from './log-lines.ts';
