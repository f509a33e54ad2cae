/** One instruction of a Dockerfile, continuation lines joined and comment lines dropped. */
export interface DockerInstruction {
  /** Upper case: FROM, RUN, COPY, ENV, CMD, ... */
  keyword: string;
  /** Everything after the keyword, as written (trimmed). */
  args: string;
  /** The exec form (`CMD ["node", "x.js"]`) as its list; undefined in the shell form. */
  exec: string[] | undefined;
  /** 1-based line where the instruction starts. */
  line: number;
}

export interface DockerStage {
  /** `AS <name>`, if given. */
  name: string | undefined;
  /** The base image. */
  from: string;
  /** The instructions after FROM, up to the next FROM. */
  instructions: DockerInstruction[];
}

/** A COPY instruction read: its flags (`--from=build`), its sources, its destination. */
export interface DockerCopy {
  flags: Record<string, string>;
  sources: string[];
  dest: string;
}

/**
 * Reads a Dockerfile's stages as Docker does for the instructions this project uses: `\` continues a
 * line, a line starting with `#` is a comment (inside a continuation too), `FROM image [AS name]` opens a
 * stage. Parser directives, heredocs and escape-character changes are not supported (and not used).
 */
export function parseDockerfile(text: string): DockerStage[] {
  const instructions: DockerInstruction[] = [];
  let pending: { text: string; line: number } | undefined;
  text.split('\n').forEach((raw, index) => {
    const line = raw.trimEnd();
    if (/^\s*#/.test(line) || (pending === undefined && line.trim() === '')) return;
    const continued = line.endsWith('\\');
    const part = continued ? line.slice(0, -1) : line;
    pending =
      pending === undefined
        ? { text: part, line: index + 1 }
        : { ...pending, text: `${pending.text} ${part.trim()}` };
    if (continued) return;
    const match = /^\s*([A-Za-z]+)\s*(.*)$/.exec(pending.text);
    if (!match)
      throw new Error(`Dockerfile line ${String(pending.line)}: no instruction in "${pending.text}"`);
    const args = (match[2] ?? '').trim();
    instructions.push({
      keyword: (match[1] ?? '').toUpperCase(),
      args,
      exec: execForm(args),
      line: pending.line,
    });
    pending = undefined;
  });
  if (pending !== undefined)
    throw new Error(`Dockerfile line ${String(pending.line)}: continued past the end`);

  const stages: DockerStage[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const words = instruction.args.split(/\s+/).filter((word) => !word.startsWith('--'));
      const as = words[1]?.toUpperCase() === 'AS' ? words[2] : undefined;
      stages.push({ name: as, from: words[0] ?? '', instructions: [] });
    } else {
      const stage = stages.at(-1);
      if (stage === undefined && instruction.keyword !== 'ARG') {
        throw new Error(
          `Dockerfile line ${String(instruction.line)}: ${instruction.keyword} before any FROM`,
        );
      }
      stage?.instructions.push(instruction);
    }
  }
  return stages;
}

/** Reads a COPY (or ADD) instruction; the exec form (`COPY ["a", "b"]`) too. */
export function dockerCopy(instruction: DockerInstruction): DockerCopy {
  const words = instruction.exec ?? instruction.args.split(/\s+/);
  const flags: Record<string, string> = {};
  let rest = words;
  if (instruction.exec === undefined) {
    const first = words.findIndex((word) => !word.startsWith('--'));
    for (const flag of words.slice(0, first)) {
      const [key = '', value = ''] = flag.slice(2).split('=', 2);
      flags[key] = value;
    }
    rest = words.slice(first);
  }
  if (rest.length < 2)
    throw new Error(`Dockerfile line ${String(instruction.line)}: COPY needs a source and a destination`);
  return { flags, sources: rest.slice(0, -1), dest: rest.at(-1) ?? '' };
}

/** `ENV A=1 B=2` and `ENV A 1` of a stage, in order. */
export function dockerEnv(stage: DockerStage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { keyword, args } of stage.instructions) {
    if (keyword !== 'ENV') continue;
    if (!args.includes('=')) {
      const [key = '', ...value] = args.split(/\s+/);
      env[key] = value.join(' ');
      continue;
    }
    for (const pair of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)/g)) {
      const value = pair[2] ?? '';
      env[pair[1] ?? ''] = value.startsWith('"') ? (JSON.parse(value) as string) : value;
    }
  }
  return env;
}

function execForm(args: string): string[] | undefined {
  if (!args.startsWith('[')) return undefined;
  try {
    const parsed: unknown = JSON.parse(args);
    return Array.isArray(parsed) && parsed.every((item) => typeof item === 'string') ? parsed : undefined;
  } catch {
    // Not JSON: Docker runs it in the shell form.
    return undefined;
  }
}
