import { parseArgs } from 'node:util';
import { startFakeFlamenco } from './server.ts';

// Usage: pnpm fake-flamenco [--port 8081] [--host 127.0.0.1] [--start-delay-ms 1000] [--task-ms 2000]
const usage =
  'fake Flamenco Manager: pnpm fake-flamenco [--port 8081] [--host 127.0.0.1] ' +
  '[--start-delay-ms 1000] [--task-ms 2000]';
const { values } = parseArgs({
  options: {
    // Not Flamenco's own 8080: that is the receiver's default port.
    port: { type: 'string', default: '8081' },
    host: { type: 'string', default: '127.0.0.1' },
    'start-delay-ms': { type: 'string', default: '1000' },
    'task-ms': { type: 'string', default: '2000' },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  console.log(usage);
  process.exit(0);
}

function nonNegativeInt(name: string, raw: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    console.error(`--${name} must be a non-negative integer, got "${raw}"\n${usage}`);
    process.exit(2);
  }
  return value;
}

const flamenco = await startFakeFlamenco({
  port: nonNegativeInt('port', values.port),
  host: values.host,
  startDelayMs: nonNegativeInt('start-delay-ms', values['start-delay-ms']),
  taskMs: nonNegativeInt('task-ms', values['task-ms']),
  // Simulated time moves with real time, so jobs progress on their own.
  tickMs: 100,
});

console.log(`fake Flamenco Manager listening at ${flamenco.url}`);
console.log(`  job types: ${[...flamenco.state.jobTypes.keys()].join(', ')}`);
console.log(
  `  each job waits ${values['start-delay-ms']} ms for a worker, then each task (chunk of frames) takes ${values['task-ms']} ms`,
);
console.log(`\nfor kitsu-actions: FLAMENCO_URL=${flamenco.url}`);

const stop = async (signal: string) => {
  console.log(`\n${signal}: closing fake Flamenco`);
  await flamenco.close();
  process.exit(0);
};
process.once('SIGINT', (signal) => void stop(signal));
process.once('SIGTERM', (signal) => void stop(signal));
