import { parseArgs } from 'node:util';
import { startFakeAfanasy } from './server.ts';

// Usage: pnpm fake-afanasy [--port 51000] [--host 127.0.0.1] [--start-delay-ms 1000] [--task-ms 2000]
const usage =
  'fake CGRU afserver: pnpm fake-afanasy [--port 51000] [--host 127.0.0.1] ' +
  '[--start-delay-ms 1000] [--task-ms 2000]';
const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '51000' },
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

const afanasy = await startFakeAfanasy({
  port: nonNegativeInt('port', values.port),
  host: values.host,
  startDelayMs: nonNegativeInt('start-delay-ms', values['start-delay-ms']),
  taskMs: nonNegativeInt('task-ms', values['task-ms']),
  // Simulated time moves with real time, so jobs progress on their own.
  tickMs: 100,
});

console.log(`fake CGRU afserver listening on ${afanasy.host}:${afanasy.port}`);
console.log(`  a new job waits ${values['start-delay-ms']} ms, then each task takes ${values['task-ms']} ms`);
console.log(`\nfor kitsu-actions: AFANASY_HOST=${afanasy.host} AFANASY_PORT=${afanasy.port}`);

const stop = async (signal: string) => {
  console.log(`\n${signal}: closing fake afserver`);
  await afanasy.close();
  process.exit(0);
};
process.once('SIGINT', (signal) => void stop(signal));
process.once('SIGTERM', (signal) => void stop(signal));
