import { readFile } from 'node:fs/promises';
import { isMap, isSeq, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import { JobKind, jobKinds } from './jobs.ts';

export const CatalogueEntityType = z.enum(['all', 'asset', 'shot', 'sequence', 'edit', 'episode']);

export const CatalogueAction = z
  .strictObject({
    id: z
      .string()
      .regex(
        /^[a-z0-9][a-z0-9_-]{0,63}$/,
        'use lowercase letters, digits, - and _ (it becomes the URL /actions/<id>)',
      ),
    name: z.string().trim().min(1).max(80),
    kind: JobKind,
    description: z.string().optional(),
    entityType: CatalogueEntityType.default('all'),
    ajax: z.boolean().default(false),
    options: z.unknown().default({}),
  })
  .superRefine((action, ctx) => {
    const parsed = jobKinds[action.kind].options.safeParse(action.options);
    if (parsed.success) return;
    for (const issue of parsed.error.issues) {
      ctx.addIssue({ code: 'custom', message: issue.message, path: ['options', ...issue.path] });
    }
  });
export type CatalogueAction = z.infer<typeof CatalogueAction>;

export const Catalogue = z
  .strictObject({ actions: z.array(CatalogueAction) })
  .superRefine((catalogue, ctx) => {
    const seen = new Map<string, number>();
    catalogue.actions.forEach((action, index) => {
      const first = seen.get(action.id);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          message: `duplicate id "${action.id}" (already used by actions[${first}])`,
          path: ['actions', index, 'id'],
        });
      } else {
        seen.set(action.id, index);
      }
    });
  });
export type Catalogue = z.infer<typeof Catalogue>;

export class CatalogueError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`Invalid action catalogue ${file}:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'CatalogueError';
  }
}

function where(document: Document, source: string, path: readonly PropertyKey[]): string {
  // Walk up until a node with a position exists (a missing key has none; its parent does).
  for (let depth = path.length; depth >= 0; depth--) {
    const node: unknown = document.getIn(path.slice(0, depth) as unknown[], true);
    const range = (node as { range?: [number, number, number] } | undefined)?.range;
    if (range && (isMap(node) || isSeq(node) || depth === path.length)) {
      const before = source.slice(0, range[0]);
      const line = before.split('\n').length;
      const column = range[0] - before.lastIndexOf('\n');
      return `line ${line}:${column}`;
    }
  }
  return 'line 1:1';
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (out, key) =>
      typeof key === 'number' ? `${out}[${key}]` : out === '' ? String(key) : `${out}.${String(key)}`,
    '',
  );
}

/** Parses catalogue text; every problem is reported with its path and line in the file. */
export function parseCatalogue(source: string, file: string): Catalogue {
  const document = parseDocument(source, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new CatalogueError(
      file,
      document.errors.map((error) => error.message.split('\n')[0] ?? error.message),
    );
  }
  const parsed = Catalogue.safeParse(document.toJS() ?? {});
  if (parsed.success) return parsed.data;
  throw new CatalogueError(
    file,
    parsed.error.issues.map(
      (issue) =>
        `${formatPath(issue.path) || '(top level)'} (${where(document, source, issue.path)}): ${issue.message}`,
    ),
  );
}

export async function loadCatalogue(file: string): Promise<Catalogue> {
  let source: string;
  try {
    source = await readFile(file, 'utf8');
  } catch (error) {
    throw new CatalogueError(file, [`cannot read the file: ${(error as Error).message}`]);
  }
  return parseCatalogue(source, file);
}
