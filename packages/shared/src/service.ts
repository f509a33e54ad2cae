import { CatalogueError } from './catalogue.ts';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { createLogger, type Logger } from './logger.ts';

/** Exit code for a configuration problem (sysexits EX_CONFIG), so supervisors can tell it apart. */
export const exitConfig = 78;

export type Stop = () => Promise<void>;

/**
 * Runs a service's main: parses the config once, starts the service, and stops it gracefully on
 * SIGTERM/SIGINT (a second signal while stopping is ignored; a stop that hangs is cut off).
 */
export async function runService(
  name: string,
  env: Record<string, string | undefined>,
  start: (config: Config, logger: Logger) => Promise<Stop>,
): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`kitsu-actions ${name}: ${error.message}\n`);
    process.exit(exitConfig);
  }
  const logger = createLogger({ level: config.logLevel, name });
  // Signals are handled from the start: one that arrives while the service is still starting stops it
  // as soon as it has started, instead of killing it half-way (or being missed).
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.info({ signal }, 'already stopping');
      return;
    }
    stopping = true;
    logger.info({ signal }, `${name} stopping`);
    const deadline = setTimeout(() => {
      logger.error({ timeoutMs: config.worker.shutdownTimeoutMs }, `${name} did not stop in time; exiting`);
      process.exit(1);
    }, config.worker.shutdownTimeoutMs);
    deadline.unref();
    started
      .then((stop) => stop())
      .then(
        () => {
          logger.info(`${name} stopped`);
          process.exit(0);
        },
        (error: unknown) => {
          logger.error({ err: error }, `${name} stopped with an error`);
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  const started = start(config, logger);
  try {
    await started;
  } catch (error) {
    if (error instanceof CatalogueError) {
      logger.fatal(error.message);
      process.exit(exitConfig);
    }
    logger.fatal({ err: error }, `${name} failed to start`);
    process.exit(1);
  }
}
