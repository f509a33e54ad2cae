import { runFakeFarmCli } from '../cli.ts';
import { startFakeFlamenco } from './server.ts';

// Usage: pnpm fake-flamenco [--port 8081] [--host 127.0.0.1] [--start-delay-ms 1000] [--task-ms 2000]
await runFakeFarmCli({
  title: 'fake Flamenco Manager',
  command: 'fake-flamenco',
  // Not Flamenco's own 8080: that is the receiver's default port.
  defaultPort: 8081,
  start: (options) => startFakeFlamenco(options),
  describe: (flamenco, options) => [
    `fake Flamenco Manager listening at ${flamenco.url}`,
    `  job types: ${[...flamenco.state.jobTypes.keys()].join(', ')}`,
    `  each job waits ${String(options.startDelayMs)} ms for a worker, then each task (chunk of frames) takes ${String(options.taskMs)} ms`,
    `\nfor kitsu-actions: FLAMENCO_URL=${flamenco.url}`,
  ],
});
