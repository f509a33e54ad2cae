import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { repoRoot } from './config.ts';

describe('docker-compose.yml', () => {
  it('docker-compose.yml publishes the receiver on the loopback by default, and Redis not at all', async () => {
    const compose = parse(await readFile(path.join(repoRoot, 'docker-compose.yml'), 'utf8')) as {
      services: Record<string, { ports?: string[]; environment?: Record<string, string> }>;
    };
    // `${NAME:-default}` as Compose reads it with nothing set.
    const byDefault = (text: string): string => text.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1');
    const published = Object.entries(compose.services).flatMap(([name, service]) =>
      (service.ports ?? []).map((port) => ({ name, port: byDefault(port) })),
    );
    expect(published).toEqual([{ name: 'receiver', port: '127.0.0.1:8080:8080' }]);
    // Inside its container the receiver listens on every interface, or the published port reaches nothing.
    expect(compose.services['receiver']?.environment?.['HOST']).toBe('0.0.0.0');
  });
});
