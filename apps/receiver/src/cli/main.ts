import { runCli } from './cli.ts';

// `pnpm kitsu-actions <command>`: see cli.ts for the commands and exit codes.
process.exitCode = await runCli(process.argv.slice(2), process.env, {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
});
