import { parseArgs } from 'node:util';
import {
  CatalogueError,
  ConfigError,
  exitConfig,
  loadCatalogue,
  loadConfig,
  type Config,
} from '@kitsu-actions/shared';
import { createZouClient, ZouError } from '@kitsu-actions/zou';
import { ApplyError, register, RegisterConfigError } from './register.ts';

/** sysexits EX_USAGE: the command line itself is wrong. */
export const exitUsage = 64;

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

const usage = `Usage: pnpm kitsu-actions <command> [options]

Commands:
  register [--dry-run] [--prune]   sync the action catalogue into Kitsu's custom actions
      --dry-run   print what would change, change nothing
      --prune     also delete Kitsu actions that point at this service but are no longer in the catalogue

Settings come from the environment, as for the receiver: KITSU_URL, KITSU_BOT_TOKEN (an admin bot:
Kitsu lets only admins change custom actions), AUTH_MODE, PUBLIC_URL, ACTIONS_FILE (see README).
Exit codes: 0 done, 1 Kitsu refused or failed, ${String(exitUsage)} bad command line, ${String(exitConfig)} bad configuration.`;

const adminHint =
  "Kitsu's custom actions are admin only: KITSU_BOT_TOKEN must be the token of a bot with the admin role " +
  `(in Kitsu: main menu → Admin → Bots, the bot's role "Studio Manager", Kitsu's name for admin; see the README, "Creating the bot").`;

/** Runs one command; returns the process exit code. Never exits itself, so tests can call it. */
export async function runCli(
  argv: readonly string[],
  env: Record<string, string | undefined>,
  io: CliIo,
): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    io.err(`kitsu-actions: ${(error as Error).message}\n\n${usage}`);
    return exitUsage;
  }
  const [command, ...extra] = parsed.positionals;
  if (parsed.values.help || command === 'help') {
    io.out(usage);
    return 0;
  }
  if (command !== 'register' || extra.length > 0) {
    io.err(
      `kitsu-actions: ${command === undefined ? 'no command given' : `unknown command "${[command, ...extra].join(' ')}"`}\n\n${usage}`,
    );
    return exitUsage;
  }
  return runRegister(env, io, { dryRun: parsed.values['dry-run'], prune: parsed.values.prune });
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      'dry-run': { type: 'boolean', default: false },
      prune: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
}

async function runRegister(
  env: Record<string, string | undefined>,
  io: CliIo,
  options: { dryRun: boolean; prune: boolean },
): Promise<number> {
  const configProblem = (message: string): number => {
    io.err(`kitsu-actions register: ${message}`);
    return exitConfig;
  };
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return configProblem(error.message);
    throw error;
  }
  // The default (http://localhost:<PORT>) is right for a local receiver, never for Kitsu's users.
  if (env['PUBLIC_URL'] === undefined || env['PUBLIC_URL'] === '') {
    return configProblem(
      'PUBLIC_URL is required: it is the address Kitsu users reach this service at (e.g. https://kitsu.studio.example/kitsu-actions), and every registered URL starts with it',
    );
  }
  const kitsu = config.kitsu;
  if (kitsu?.botToken === undefined) {
    return configProblem(
      `KITSU_URL and KITSU_BOT_TOKEN are required: register changes Kitsu's custom actions as that bot. ${adminHint}`,
    );
  }
  try {
    const catalogue = await loadCatalogue(config.actionsFile);
    const client = createZouClient({
      baseUrl: kitsu.url,
      auth: { token: kitsu.botToken },
      timeoutMs: kitsu.timeoutMs,
    });
    await register({ config, catalogue, client, print: io.out }, options);
    return 0;
  } catch (error) {
    if (error instanceof CatalogueError || error instanceof RegisterConfigError) {
      return configProblem(error.message);
    }
    const zou = error instanceof ApplyError ? error.cause : error;
    if (error instanceof ApplyError || error instanceof ZouError) {
      const forbidden = zou instanceof ZouError && zou.status === 403;
      io.err(`kitsu-actions register: ${error.message}${forbidden ? `\n${adminHint}` : ''}`);
      return 1;
    }
    throw error;
  }
}
