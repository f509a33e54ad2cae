import { parseArgs } from 'node:util';
import { startFakeZou } from './server.ts';
import type { PersonKey } from './seed.ts';

// Usage: pnpm fake-zou [--port 5080] [--host 127.0.0.1] [--prefix /api] [--big-project 1500]
//        [--token-ttl-hours 168]
const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '5080' },
    host: { type: 'string', default: '127.0.0.1' },
    prefix: { type: 'string', default: '/api' },
    'big-project': { type: 'string' },
    'token-ttl-hours': { type: 'string', default: '168' },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  console.log(
    'fake Zou: pnpm fake-zou [--port 5080] [--host 127.0.0.1] ' +
      '[--prefix /api] [--big-project <tasks>] [--token-ttl-hours 168]',
  );
  process.exit(0);
}

function positiveInt(name: string, raw: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    console.error(`--${name} must be a non-negative integer, got "${raw}"`);
    process.exit(2);
  }
  return value;
}

const bigTasks =
  values['big-project'] === undefined ? undefined : positiveInt('big-project', values['big-project']);
const zou = await startFakeZou({
  port: positiveInt('port', values.port),
  host: values.host,
  prefix: values.prefix === '/' ? '' : values.prefix,
  tokenTtlMs: positiveInt('token-ttl-hours', values['token-ttl-hours']) * 3_600_000,
  ...(bigTasks === undefined ? {} : { bigProject: { tasks: bigTasks } }),
});

const { ids, logins, botToken } = zou.seed;
console.log(`fake Zou listening at ${zou.url}`);
console.log(`  Spring Festival project id: ${ids.projects.spf}`);
console.log(`  Moon Garden project id:     ${ids.projects.moon}`);
if (ids.projects.big !== null) console.log(`  Big Show project id:        ${ids.projects.big}`);
console.log(`\nbot token (never expires, manager on Spring Festival):\n  ${botToken}\n`);
// The seed has no admin bot: `register` (which only an admin may run) gets the admin person's own token.
console.log(
  `admin token for \`pnpm kitsu-actions register\` (never expires; ${zou.state.persons.get(ids.persons.admin)?.full_name ?? 'the admin'}, role admin):\n` +
    `  ${zou.control.issueToken(ids.persons.admin, { ttlMs: null })}\n`,
);
console.log('user session tokens (send as cookie access_token_cookie=<token> or Authorization: Bearer):');
for (const [key, personId] of Object.entries(ids.persons) as [PersonKey, string][]) {
  if (key === 'bot') continue;
  const person = zou.state.persons.get(personId);
  const login = logins[key];
  console.log(`  ${key.padEnd(10)} ${person?.full_name ?? ''} <${login.email}> role=${person?.role ?? '?'}`);
  console.log(`             ${zou.control.issueToken(personId)}`);
}
console.log(`\nevery person logs in with password "${logins.admin.password}"`);
console.log(
  `a few task ids: lighting E01/SQ010/SH010 = ${ids.tasks.lightingSh010}, ` +
    `modeling Mei = ${ids.tasks.modelingMei}`,
);

const stop = async (signal: string) => {
  console.log(`\n${signal}: closing fake Zou`);
  await zou.close();
  process.exit(0);
};
process.once('SIGINT', (signal) => void stop(signal));
process.once('SIGTERM', (signal) => void stop(signal));
