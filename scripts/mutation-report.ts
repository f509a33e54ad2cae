/**
 * The clear-text summary of a Stryker JSON report (reports/mutation/mutation.json): the score of each
 * mutated file, then every mutant the suite let through, where it is and what it changed.
 */

/** What this summary reads of Stryker's JSON report (the mutation-testing-report-schema format). */
export interface MutationReport {
  files: Record<string, { source: string; mutants: Mutant[] }>;
}

export interface Mutant {
  id: string;
  mutatorName: string;
  replacement?: string;
  status: MutantStatus;
  static?: boolean;
  /** Why Stryker gave the status; for a mutant disabled in the code, the reason its comment gives. */
  statusReason?: string;
  location: { start: Position; end: Position };
}

interface Position {
  line: number;
  column: number;
}

export type MutantStatus =
  'Killed' | 'Survived' | 'NoCoverage' | 'Timeout' | 'CompileError' | 'RuntimeError' | 'Ignored' | 'Pending';

export interface FileScore {
  file: string;
  mutants: number;
  killed: number;
  survived: number;
  timeout: number;
  noCoverage: number;
  ignored: number;
  errors: number;
  /** Detected (killed or timed out) over valid (detected, survived or not covered), in percent. */
  score: number | undefined;
}

export function fileScore(file: string, mutants: readonly Mutant[]): FileScore {
  const count = (...statuses: MutantStatus[]) => mutants.filter((m) => statuses.includes(m.status)).length;
  const killed = count('Killed');
  const timeout = count('Timeout');
  const survived = count('Survived');
  const noCoverage = count('NoCoverage');
  const valid = killed + timeout + survived + noCoverage;
  return {
    file,
    mutants: mutants.length,
    killed,
    survived,
    timeout,
    noCoverage,
    ignored: count('Ignored'),
    errors: count('CompileError', 'RuntimeError'),
    score: valid === 0 ? undefined : (100 * (killed + timeout)) / valid,
  };
}

function isStaticReason(reason: string | undefined): boolean {
  return reason?.startsWith('Static mutant') === true;
}

/** The code a mutant replaced: its first line, shortened. */
function original(source: string, { start, end }: Mutant['location']): string {
  const lines = source.split('\n').slice(start.line - 1, end.line);
  const text =
    lines.length === 1
      ? (lines[0] ?? '').slice(start.column - 1, end.column - 1)
      : `${(lines[0] ?? '').slice(start.column - 1)} …`;
  return oneLine(text);
}

function oneLine(text: string, max = 100): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

export function summarizeMutationReport(report: MutationReport): string {
  const files = Object.entries(report.files).sort(([a], [b]) => a.localeCompare(b));
  const scores = files.map(([file, { mutants }]) => fileScore(file, mutants));
  const header = ['file', 'score', 'mutants', 'killed', 'survived', 'timeout', 'no cov', 'ignored', 'errors'];
  const rows = scores.map((s) => [
    s.file,
    s.score === undefined ? 'n/a' : `${s.score.toFixed(2)}%`,
    ...[s.mutants, s.killed, s.survived, s.timeout, s.noCoverage, s.ignored, s.errors].map(String),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join('  ');
  const out = ['Mutation score per file', '', line(header), ...rows.map(line), ''];

  const byPlace = (a: Mutant, b: Mutant) =>
    a.location.start.line - b.location.start.line || a.location.start.column - b.location.start.column;
  const describe = (source: string, m: Mutant, note = ''): string => {
    const { line: row, column } = m.location.start;
    const replacement = m.replacement === undefined ? '' : ` -> ${oneLine(m.replacement)}`;
    return `  ${row}:${column} ${m.mutatorName}${note}: ${original(source, m.location)}${replacement}`;
  };
  for (const [file, { source, mutants }] of files) {
    const undetected = mutants
      .filter((m) => m.status === 'Survived' || m.status === 'NoCoverage')
      .sort(byPlace);
    if (undetected.length > 0) {
      out.push(`${file}: ${undetected.length} undetected`);
      for (const m of undetected) {
        out.push(describe(source, m, m.status === 'NoCoverage' ? ' (no coverage)' : ''));
      }
      out.push('');
    }
    // Mutants a `// Stryker disable` comment in the code explains (as equivalent), with its reason.
    const explained = mutants
      .filter(
        (m) => m.status === 'Ignored' && m.statusReason !== undefined && !isStaticReason(m.statusReason),
      )
      .sort(byPlace);
    if (explained.length > 0) {
      out.push(`${file}: ${explained.length} explained in the code`);
      for (const m of explained) out.push(`${describe(source, m)}\n      ${m.statusReason ?? ''}`);
      out.push('');
    }
  }
  return out.join('\n');
}
