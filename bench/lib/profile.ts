import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Where a frame's code lives: an npm package, node internals, or a file of this repository. */
function owner(url: string): string {
  const pkg = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg?.[1]) return pkg[1];
  if (url.startsWith('node:') || url === '') return url === '' ? '(native/gc/idle)' : 'node internals';
  const repo = /\/(apps\/[^/]+|packages\/[^/]+|bench)\//.exec(url);
  return repo?.[1] ?? url;
}

function table(rows: Array<[string, number]>, total: number, limit: number): string[] {
  return rows
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([name, micros]) => `  ${((100 * micros) / total).toFixed(1).padStart(5)}%  ${name}`);
}

/**
 * Self time by frame and by package, from a V8 .cpuprofile (as written by node --cpu-prof); idle time is
 * left out of the percentages. `undefined` when the profile has less than `minBusyMs` of work (a thread
 * that only waited, such as tsx's loader thread).
 */
export function summarizeProfile(file: string, limit = 15, minBusyMs = 200): string | undefined {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const byFrame = new Map<string, number>();
  const byOwner = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, index) => {
    const micros = profile.timeDeltas[index] ?? 0;
    const frame = nodes.get(id)?.callFrame;
    if (!frame || frame.functionName === '(idle)') return;
    total += micros;
    const where = frame.url.replace(/^.*\/node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?/, '');
    const name = `${frame.functionName || '(anonymous)'} ${where.replace(/^file:\/\/.*?\/(apps|packages|bench)\//, '$1/')}:${frame.lineNumber + 1}`;
    byFrame.set(name, (byFrame.get(name) ?? 0) + micros);
    const who = owner(frame.url);
    byOwner.set(who, (byOwner.get(who) ?? 0) + micros);
  });
  if (total < minBusyMs * 1000) return undefined;
  return [
    `${file}: ${(total / 1e6).toFixed(1)} s busy (idle left out)`,
    ' self time by package:',
    ...table([...byOwner], total, 10),
    ' top frames (self time):',
    ...table([...byFrame], total, limit),
  ].join('\n');
}
