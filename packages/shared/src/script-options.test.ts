import { describe, expect, it } from 'vitest';
import { CatalogueError, parseCatalogue } from './catalogue.ts';

function refusal(options: string): string {
  try {
    parseCatalogue(
      `actions:\n  - { id: publish, name: Publish, kind: script, options: ${options} }\n`,
      'a.yaml',
    );
  } catch (error) {
    if (error instanceof CatalogueError) return error.message;
    throw error;
  }
  return 'accepted';
}

describe('script actions', () => {
  it('run an executable named by its absolute path, with arguments as a list and environment by name', () => {
    expect(
      refusal('{ command: /usr/bin/python3, args: [/studio/publish.py, "{shot.name}"], env: [STUDIO_ROOT] }'),
    ).toBe('accepted');
    expect(refusal('{ command: "python3 publish.py" }')).toContain('an absolute path');
    expect(refusal('{ command: /usr/bin/python3, args: ["{shot.nom}"] }')).toContain(
      'unknown field {shot.nom}',
    );
    expect(refusal('{ command: /usr/bin/python3, env: ["STUDIO_ROOT=/prod"] }')).toContain(
      'the name of an environment variable',
    );
    expect(refusal('{ command: /usr/bin/python3, output: yaml }')).toContain('options.output');
    expect(refusal('{ command: /usr/bin/python3, timeoutS: 0 }')).toContain('options.timeoutS');
  });
});
