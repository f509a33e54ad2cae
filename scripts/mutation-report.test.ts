import { describe, expect, it } from 'vitest';
import { fileScore, summarizeMutationReport, type Mutant, type MutantStatus } from './mutation-report.ts';

function mutant(id: string, status: MutantStatus, line: number, column: number, endColumn: number): Mutant {
  return {
    id,
    mutatorName: 'EqualityOperator',
    replacement: 'a <= b',
    status,
    location: { start: { line, column }, end: { line, column: endColumn } },
  };
}

describe('mutation report summary', () => {
  it('scores detected (killed, timed out) over valid mutants, leaving ignored and errors out', () => {
    const score = fileScore('a.ts', [
      mutant('1', 'Killed', 1, 1, 2),
      mutant('2', 'Killed', 1, 1, 2),
      mutant('3', 'Timeout', 1, 1, 2),
      mutant('4', 'Survived', 1, 1, 2),
      mutant('5', 'NoCoverage', 1, 1, 2),
      mutant('6', 'Ignored', 1, 1, 2),
      mutant('7', 'RuntimeError', 1, 1, 2),
      mutant('8', 'CompileError', 1, 1, 2),
    ]);
    expect(score).toEqual({
      file: 'a.ts',
      mutants: 8,
      killed: 2,
      survived: 1,
      timeout: 1,
      noCoverage: 1,
      ignored: 1,
      errors: 2,
      score: 60,
    });
    expect(fileScore('b.ts', [mutant('1', 'Ignored', 1, 1, 2)]).score).toBeUndefined();
  });

  it('lists each file with its score, then the undetected mutants in line order with the code they replaced', () => {
    const text = summarizeMutationReport({
      files: {
        'src/b.ts': {
          source: 'export const b = 1;\n',
          mutants: [mutant('9', 'Killed', 1, 18, 19)],
        },
        'src/a.ts': {
          source: 'const x = 1;\nif (a < b) {\n  go();\n}\n',
          mutants: [
            mutant('1', 'Killed', 2, 5, 10),
            mutant('2', 'NoCoverage', 3, 3, 7),
            mutant('3', 'Survived', 2, 5, 10),
            mutant('4', 'Ignored', 1, 11, 12),
          ],
        },
      },
    });
    const lines = text.split('\n');
    expect(lines[2]).toMatch(
      /^file\s+score\s+mutants\s+killed\s+survived\s+timeout\s+no cov\s+ignored\s+errors$/,
    );
    expect(lines[3]).toMatch(/^src\/a\.ts\s+33\.33%\s+4\s+1\s+1\s+0\s+1\s+1\s+0$/);
    expect(lines[4]).toMatch(/^src\/b\.ts\s+100\.00%\s+1\s+1\s+0\s+0\s+0\s+0\s+0$/);
    expect(text).toContain(
      [
        'src/a.ts: 2 undetected',
        '  2:5 EqualityOperator: a < b -> a <= b',
        '  3:3 EqualityOperator (no coverage): go() -> a <= b',
      ].join('\n'),
    );
    expect(text).not.toContain('src/b.ts: ');
  });

  it('lists the mutants a comment in the code explains, with its reason, and not the static ones', () => {
    const explained = { ...mutant('1', 'Ignored', 1, 11, 12), statusReason: 'equivalent, x is never read' };
    const staticOne = {
      ...mutant('2', 'Ignored', 1, 7, 8),
      static: true,
      statusReason: 'Static mutant (and "ignoreStatic" was enabled)',
    };
    const text = summarizeMutationReport({
      files: { 'src/a.ts': { source: 'const x = 1;\n', mutants: [explained, staticOne] } },
    });
    expect(text).toContain(
      [
        'src/a.ts: 1 explained in the code',
        '  1:11 EqualityOperator: 1 -> a <= b',
        '      equivalent, x is never read',
      ].join('\n'),
    );
    expect(text).not.toContain('undetected');
    expect(text).not.toContain('1:7');
  });
});
