import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadCatalogue } from './catalogue.ts';
import { repoRoot } from './config.ts';

describe('the catalogue and the README', () => {
  it('both services read ACTIONS_YAML, mounted read-only at /app/actions.yaml, as the README says', async () => {
    const compose = parse(await readFile(path.join(repoRoot, 'docker-compose.yml'), 'utf8')) as {
      services: Record<string, { volumes?: string[]; environment?: Record<string, string> }>;
    };
    const mount = '${ACTIONS_YAML:-./actions.example.yaml}:/app/actions.yaml:ro';
    for (const name of ['receiver', 'worker']) {
      expect(compose.services[name]?.environment?.['ACTIONS_FILE'], name).toBe('/app/actions.yaml');
      expect(compose.services[name]?.volumes, name).toContain(mount);
    }
    // The default mount is a valid catalogue.
    await loadCatalogue(path.join(repoRoot, 'actions.example.yaml'));

    const readme = await readFile(path.join(repoRoot, 'README.md'), 'utf8');
    const section = /^## Running with Docker Compose\n([\s\S]*?)^## /m.exec(readme)?.[1] ?? '';
    expect(section).toContain('`/app/actions.yaml` (`ACTIONS_FILE`)');
    expect(section).toContain('`ACTIONS_YAML`');
    expect(section).toContain('`./actions.example.yaml`');
    expect(section).toContain('ACTIONS_YAML=./actions.yaml');
    expect(section).not.toContain('/app/actions.example.yaml');
  });

  it('every README section actions.example.yaml names exists', async () => {
    const readme = await readFile(path.join(repoRoot, 'README.md'), 'utf8');
    const headings = new Set([...readme.matchAll(/^#{2,3} (.+)$/gm)].map((heading) => heading[1]));
    const example = await readFile(path.join(repoRoot, 'actions.example.yaml'), 'utf8');
    // The quoted names after "README" on a line: `(see README: "The action catalogue", "Render actions")`.
    const named = [...example.matchAll(/README(.*)$/gm)].flatMap((line) =>
      [...(line[1] ?? '').matchAll(/"([^"]+)"/g)].map((name) => name[1]),
    );
    expect(named.length).toBeGreaterThan(0);
    expect(named.filter((name) => !headings.has(name))).toEqual([]);
  });
});
