import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** One request exactly as a browser running Kitsu sends it (see fixtures/kitsu/README.md). */
export interface KitsuFixture {
  name: string;
  about: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

export const fixturesDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/kitsu');

/** Action catalogues the tests share (fixtures/catalogues/<name>.yaml). */
export const cataloguesDir = path.resolve(fixturesDir, '../catalogues');

/** A shared test catalogue: its file (a process's ACTIONS_FILE) and its text (for `parseCatalogue`). */
export interface CatalogueFixture {
  file: string;
  yaml: string;
}

export function catalogueFixture(name: string): CatalogueFixture {
  const file = path.join(cataloguesDir, `${name}.yaml`);
  if (!existsSync(file)) throw new Error(`no catalogue fixture named ${name} in ${cataloguesDir}`);
  return { file, yaml: readFileSync(file, 'utf8') };
}

export function kitsuFixtures(): KitsuFixture[] {
  return readdirSync(fixturesDir)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => ({
      name: file.replace(/\.json$/, ''),
      ...(JSON.parse(readFileSync(path.join(fixturesDir, file), 'utf8')) as Omit<KitsuFixture, 'name'>),
    }));
}

export function kitsuFixture(name: string): KitsuFixture {
  const fixture = kitsuFixtures().find((entry) => entry.name === name);
  if (!fixture) throw new Error(`no Kitsu fixture named ${name} in ${fixturesDir}`);
  return fixture;
}

/** Sends a fixture byte for byte to `baseUrl` (redirects are not followed). */
export function replay(baseUrl: string, fixture: KitsuFixture): Promise<Response> {
  return fetch(new URL(fixture.path, baseUrl), {
    method: fixture.method,
    headers: fixture.headers,
    redirect: 'manual',
    ...(fixture.method === 'GET' || fixture.method === 'HEAD' ? {} : { body: fixture.body }),
  });
}
