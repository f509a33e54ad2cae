import { runFakeFarmCli } from '../cli.ts';
import { startFakeAfanasy } from './server.ts';

// Usage: pnpm fake-afanasy [--port 51000] [--host 127.0.0.1] [--start-delay-ms 1000] [--task-ms 2000]
await runFakeFarmCli({
  title: 'fake CGRU afserver',
  command: 'fake-afanasy',
  defaultPort: 51000,
  start: (options) => startFakeAfanasy(options),
  describe: (afanasy, options) => [
    `fake CGRU afserver listening on ${afanasy.host}:${String(afanasy.port)}`,
    `  a new job waits ${String(options.startDelayMs)} ms, then each task takes ${String(options.taskMs)} ms`,
    `\nfor kitsu-actions: AFANASY_HOST=${afanasy.host} AFANASY_PORT=${String(afanasy.port)}`,
  ],
});
