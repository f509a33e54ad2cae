import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CatalogueError, parseCatalogue } from './catalogue.ts';
import { loadConfig, repoRoot } from './config.ts';
import { checkCatalogueSchemes } from './farms.ts';

function problemsOf(source: string): string[] {
  try {
    parseCatalogue(source, 'actions.yaml');
  } catch (error) {
    if (error instanceof CatalogueError) return error.problems;
    throw error;
  }
  throw new Error('expected the catalogue to be refused');
}

describe('action catalogue', () => {
  it('the shipped example is valid', () => {
    const file = path.join(repoRoot, 'actions.example.yaml');
    const catalogue = parseCatalogue(readFileSync(file, 'utf8'), file);
    expect(catalogue.actions.map((action) => action.id)).toContain('debug');
  });

  it('the statistics action of the example, uncommented, is valid and says what its options are', () => {
    const lines = readFileSync(path.join(repoRoot, 'actions.example.yaml'), 'utf8').split('\n');
    const start = lines.indexOf('  # - id: stats');
    expect(start).toBeGreaterThan(0);
    const block: string[] = [];
    for (const line of lines.slice(start)) {
      if (!line.startsWith('  # ') || (block.length > 0 && line.startsWith('  # - '))) break;
      block.push(line.replace(/^ {2}# /, '  '));
    }
    const catalogue = parseCatalogue(`actions:\n${block.join('\n')}\n`, 'example stats');
    expect(catalogue.actions).toEqual([
      expect.objectContaining({
        id: 'stats',
        kind: 'stats',
        options: { scope: 'production', weeks: 8, listLimit: 50 },
      }),
    ]);
  });

  it('the launch action of the example, uncommented, is valid and opens an allowed scheme', () => {
    const lines = readFileSync(path.join(repoRoot, 'actions.example.yaml'), 'utf8').split('\n');
    const start = lines.indexOf('  # - id: open-rv');
    expect(start).toBeGreaterThan(0);
    const block: string[] = [];
    for (const line of lines.slice(start)) {
      if (!line.startsWith('  # ') || (block.length > 0 && line.startsWith('  # - '))) break;
      block.push(line.replace(/^ {2}# /, '  '));
    }
    const catalogue = parseCatalogue(`actions:\n${block.join('\n')}\n`, 'example launch');
    expect(catalogue.actions).toEqual([
      expect.objectContaining({
        id: 'open-rv',
        kind: 'launch',
        options: {
          url: 'rv://open/{project.code}/{sequence.name}/{shot.name}?frames={frames}',
          label: 'Open in RV',
        },
      }),
    ]);
    expect(() => checkCatalogueSchemes(catalogue, loadConfig({}))).not.toThrow();
  });

  it('fills defaults', () => {
    const catalogue = parseCatalogue('actions:\n  - { id: dbg, name: Debug, kind: debug }\n', 'x');
    expect(catalogue.actions[0]).toEqual({
      id: 'dbg',
      name: 'Debug',
      kind: 'debug',
      entityType: 'all',
      ajax: false,
      method: 'post',
      options: {},
    });
  });

  it('method: post by default; get must be asked for; nothing else', () => {
    const catalogue = parseCatalogue(
      'actions:\n  - { id: link, name: Link, kind: debug, method: get }\n',
      'x',
    );
    expect(catalogue.actions[0]?.method).toBe('get');
    expect(problemsOf('actions:\n  - { id: put, name: Put, kind: debug, method: put }\n')).toEqual([
      'actions[0].method (line 2:48): unknown method "put" (methods: post, get)',
    ]);
  });

  it('reports every problem with its path and line', () => {
    const problems = problemsOf(
      [
        'actions:',
        '  - id: debug',
        '    name: Debug',
        '    kind: debug',
        '  - id: Render Shots',
        '    name: Render',
        '    kind: rendr',
        '  - id: debug',
        '    name: Again',
        '    kind: debug',
        '    entityType: planet',
        '    options: { colour: red }',
      ].join('\n'),
    );
    expect(problems).toContainEqual(
      expect.stringMatching(/^actions\[1\]\.id \(line 5:9\): use lowercase letters/),
    );
    expect(problems).toContainEqual(
      expect.stringMatching(
        /^actions\[1\]\.kind \(line 7:11\): unknown kind "rendr" \(known kinds: debug, render\.flamenco, render\.cgru, stats, launch, webhook, script\)/,
      ),
    );
    expect(problems).toContainEqual(expect.stringMatching(/^actions\[2\]\.entityType \(line 11:17\)/));
    expect(problems).toContainEqual(expect.stringMatching(/^actions\[2\]\.options \(line 12:14\): .*colour/));
    expect(problems).toContainEqual(
      expect.stringMatching(/^actions\[2\]\.id .*duplicate id "debug" \(already used by actions\[0\]\)/),
    );
  });

  it('refuses unknown keys and YAML syntax errors', () => {
    expect(problemsOf('actions:\n  - { id: a, name: A, kind: debug, alow: {} }\n')).toContainEqual(
      expect.stringMatching(/actions\[0\].*alow/),
    );
    expect(problemsOf('actions: [\n')[0]).toMatch(/flow sequence|Unexpected|end/i);
    expect(problemsOf('')).toContainEqual(expect.stringMatching(/^actions/));
  });

  it('reads allow (roles, projects) and refuses what Kitsu has no name for', () => {
    const project = 'FA4D7F04-B8E0-4518-8DBC-2F24997CA76E';
    const catalogue = parseCatalogue(
      `actions:\n  - { id: a, name: A, kind: debug, allow: { roles: [admin, supervisor], projects: [${project}] } }\n`,
      'x',
    );
    expect(catalogue.actions[0]?.allow).toEqual({
      roles: ['admin', 'supervisor'],
      projects: [project.toLowerCase()],
    });
    const problems = problemsOf(
      [
        'actions:',
        '  - { id: a, name: A, kind: debug, allow: { roles: [director] } }',
        '  - { id: b, name: B, kind: debug, allow: { projects: [spring-festival] } }',
        '  - { id: c, name: C, kind: debug, allow: { role: [admin] } }',
        '  - { id: d, name: D, kind: debug, allow: { roles: [] } }',
      ].join('\n'),
    );
    expect(problems).toContainEqual(
      expect.stringMatching(/^actions\[0\]\.allow\.roles\[0\] \(line 2:.*director/),
    );
    expect(problems).toContainEqual(
      expect.stringMatching(/^actions\[1\]\.allow\.projects\[0\] .*project id/),
    );
    expect(problems).toContainEqual(expect.stringMatching(/^actions\[2\]\.allow .*role/));
    expect(problems).toContainEqual(expect.stringMatching(/^actions\[3\]\.allow\.roles .*at least one role/));
  });

  it('reads report, with comment on by default, and refuses unknown keys in it', () => {
    const catalogue = parseCatalogue(
      'actions:\n  - { id: a, name: A, kind: debug, report: { statusOnSuccess: wfa } }\n',
      'x',
    );
    expect(catalogue.actions[0]?.report).toEqual({ comment: true, statusOnSuccess: 'wfa' });
    expect(
      problemsOf('actions:\n  - { id: a, name: A, kind: debug, report: { coment: true } }\n'),
    ).toContainEqual(expect.stringMatching(/^actions\[0\]\.report .*coment/));
  });
});
