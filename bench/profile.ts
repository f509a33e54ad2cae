/** `pnpm exec tsx bench/profile.ts <file.cpuprofile | dir>…`: top frames of CPU profiles. */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { summarizeProfile } from './lib/profile.ts';

const files = process.argv.slice(2).flatMap((arg) =>
  statSync(arg).isDirectory()
    ? readdirSync(arg, { recursive: true, encoding: 'utf8' })
        .filter((name) => name.endsWith('.cpuprofile'))
        .map((name) => path.join(arg, name))
    : [arg],
);
if (files.length === 0) {
  console.error('usage: tsx bench/profile.ts <file.cpuprofile | directory>…');
  process.exit(2);
}
for (const file of files) {
  const summary = summarizeProfile(file, 20, 0);
  if (summary) console.log(`${summary}\n`);
}
