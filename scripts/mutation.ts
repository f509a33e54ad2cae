/**
 * `pnpm mutation [-- <Stryker options>] [--tests <file,…>]`: mutation testing with Stryker
 * (stryker.config.mjs), e.g. `pnpm mutation -- --mutate packages/shared/src/kitsu-request.ts` for one
 * file. `--tests` names the only test files that judge the mutants (vitest.stryker.config.ts): a run of
 * one file against its own tests takes minutes where the whole suite takes most of an hour. Then writes
 * reports/mutation/mutation.txt (score per file, every surviving mutant) from Stryker's JSON report.
 *
 * SIGINT and SIGTERM are forwarded to Stryker, which stops its test runners; a run stopped that way may
 * leave its copy of the repo in .stryker-tmp. `pnpm mutation` runs this with `exec node` (not the tsx
 * CLI, which SIGKILLs a child that is slow to stop) so that a signal reaches this process.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { summarizeMutationReport, type MutationReport } from './mutation-report.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const jsonReport = path.join(root, 'reports/mutation/mutation.json');
const textReport = path.join(root, 'reports/mutation/mutation.txt');

// pnpm passes the `--` of `pnpm mutation -- --mutate …` through; Stryker would read what follows as operands.
const args = process.argv.slice(2);
if (args[0] === '--') args.shift();
const testsAt = args.indexOf('--tests');
const env = { ...process.env };
if (testsAt !== -1) {
  const tests = args[testsAt + 1];
  if (tests === undefined || tests.startsWith('--')) {
    console.error('mutation: --tests needs a comma-separated list of test files');
    process.exit(2);
  }
  env.MUTATION_TESTS = tests;
  args.splice(testsAt, 2);
}

const strykerPackage = createRequire(import.meta.url).resolve('@stryker-mutator/core/package.json');
const stryker = path.join(path.dirname(strykerPackage), 'bin/stryker.js');
const child = spawn(process.execPath, [stryker, 'run', ...args], { cwd: root, env, stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => child.kill(signal));
}
const code = await new Promise<number>((resolve) => {
  child.on('exit', (exitCode, signal) => resolve(exitCode ?? (signal ? 128 : 1)));
});

if (code === 0 && existsSync(jsonReport)) {
  const report = JSON.parse(readFileSync(jsonReport, 'utf8')) as MutationReport;
  writeFileSync(textReport, summarizeMutationReport(report));
  console.log(`mutation: scores and surviving mutants in ${path.relative(root, textReport)}`);
}
process.exit(code);
