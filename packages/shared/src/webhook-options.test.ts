import { describe, expect, it } from 'vitest';
import { CatalogueError, parseCatalogue } from './catalogue.ts';
import { checkCatalogueSecrets } from './farms.ts';

const webhookCatalogue = (options: string): string =>
  `actions:\n  - { id: to-kabaret, name: Open in Kabaret, kind: webhook, options: ${options} }\n`;

function refusal(options: string): string {
  try {
    parseCatalogue(webhookCatalogue(options), 'actions.yaml');
  } catch (error) {
    if (error instanceof CatalogueError) return error.message;
    throw error;
  }
  return 'accepted';
}

describe('webhook actions', () => {
  it('take an http(s) URL and the name of the variable holding the secret, never the secret itself', () => {
    expect(refusal('{ url: "https://kabaret.studio.example/kitsu", secretEnv: KABARET_SECRET }')).toBe(
      'accepted',
    );
    expect(refusal('{ url: "ftp://kabaret.studio.example/", secretEnv: KABARET_SECRET }')).toContain(
      'an http:// or https:// URL',
    );
    expect(refusal('{ url: "https://k.example/", secretEnv: "s3cr3t-value-pasted-here" }')).toContain(
      'the name of an environment variable (A-Z, 0-9, _), not the secret itself',
    );
    expect(refusal('{ url: "https://k.example/", secretEnv: K, secret: abc }')).toContain(
      'Unrecognized key: "secret"',
    );
  });

  it('stop the worker’s start-up when the secret is unset or too short to be one', () => {
    const catalogue = parseCatalogue(
      webhookCatalogue('{ url: "https://k.example/", secretEnv: KABARET_SECRET }'),
      'actions.yaml',
    );
    expect(() => checkCatalogueSecrets(catalogue, {}, 'actions.yaml')).toThrow(
      /"to-kabaret" signs its deliveries with KABARET_SECRET, which is not set on this worker/,
    );
    expect(() => checkCatalogueSecrets(catalogue, { KABARET_SECRET: 'short' }, 'actions.yaml')).toThrow(
      /KABARET_SECRET, which is shorter than 16 characters/,
    );
    expect(() =>
      checkCatalogueSecrets(catalogue, { KABARET_SECRET: '0123456789abcdef' }, 'actions.yaml'),
    ).not.toThrow();
  });
});
