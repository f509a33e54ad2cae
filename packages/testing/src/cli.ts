// Command-line helpers of the fakes (console output is their job).
import { parseArgs } from 'node:util';

/** What both fake farms take from their command line. */
export interface FakeFarmCliOptions {
  port: number;
  host: string;
  startDelayMs: number;
  taskMs: number;
  /** Simulated time moves with real time, so jobs progress on their own. */
  tickMs: number;
}

/**
 * The command line of `pnpm fake-flamenco` and `pnpm fake-afanasy`: parses the options, starts the
 * farm, prints what `describe` says of it, and closes it on SIGINT/SIGTERM.
 */
export async function runFakeFarmCli<Farm extends { close(): Promise<unknown> }>(spec: {
  /** e.g. "fake Flamenco Manager". */
  title: string;
  command: string;
  defaultPort: number;
  start(options: FakeFarmCliOptions): Promise<Farm>;
  describe(farm: Farm, options: FakeFarmCliOptions): string[];
}): Promise<void> {
  const usage =
    `${spec.title}: pnpm ${spec.command} [--port ${String(spec.defaultPort)}] [--host 127.0.0.1] ` +
    '[--start-delay-ms 1000] [--task-ms 2000]';
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: String(spec.defaultPort) },
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
  const nonNegativeInt = (name: string, raw: string): number => {
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 0) {
      console.error(`--${name} must be a non-negative integer, got "${raw}"\n${usage}`);
      process.exit(2);
    }
    return value;
  };
  const options: FakeFarmCliOptions = {
    port: nonNegativeInt('port', values.port),
    host: values.host,
    startDelayMs: nonNegativeInt('start-delay-ms', values['start-delay-ms']),
    taskMs: nonNegativeInt('task-ms', values['task-ms']),
    tickMs: 100,
  };
  const farm = await spec.start(options);
  for (const line of spec.describe(farm, options)) console.log(line);

  const stop = async (signal: string): Promise<void> => {
    console.log(`\n${signal}: closing the ${spec.title}`);
    await farm.close();
    process.exit(0);
  };
  process.once('SIGINT', (signal) => void stop(signal));
  process.once('SIGTERM', (signal) => void stop(signal));
}
