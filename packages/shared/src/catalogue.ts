import { readFile } from 'node:fs/promises';
import { isMap, isSeq, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import { JobKind, jobKinds } from './kinds/index.ts';
import { ReportSettings } from './report.ts';

export const CatalogueEntityType = z.enum(['all', 'asset', 'shot', 'sequence', 'edit', 'episode']);

const kind = z.enum(JobKind.options, {
  error: (issue) =>
    `unknown kind ${JSON.stringify(issue.input)} (known kinds: ${JobKind.options.join(', ')})`,
});

interface Problem {
  message: string;
  path: PropertyKey[];
}

/** Problems of an action's options under its kind's own schema (none when the kind itself is unknown). */
function optionProblems(action: { kind?: unknown; options?: unknown }): Problem[] {
  const parsedKind = kind.safeParse(action.kind);
  if (!parsedKind.success) return [];
  const parsed = jobKinds[parsedKind.data].options.safeParse(action.options ?? {});
  if (parsed.success) return [];
  return parsed.error.issues.map((issue) => ({ message: issue.message, path: ['options', ...issue.path] }));
}

/** Kitsu's person roles (Zou's `role` column). */
const kitsuRoles = ['admin', 'manager', 'supervisor', 'user', 'client', 'vendor'] as const;
export const KitsuRole = z.enum(kitsuRoles, {
  error: (issue) => `unknown Kitsu role ${JSON.stringify(issue.input)} (roles: ${kitsuRoles.join(', ')})`,
});
export type KitsuRole = z.infer<typeof KitsuRole>;

/** Who may run an action; every listed condition must hold. Absent: anyone the receiver lets in. */
export const CatalogueAllow = z.strictObject({
  /** Kitsu roles allowed to run it (needs AUTH_MODE=zou-session: only a Kitsu session proves a role). */
  roles: z.array(KitsuRole).min(1, 'list at least one role, or leave roles out').optional(),
  /** Project (production) ids it may run on; every selected task must belong to one of them. */
  projects: z
    .array(z.guid('expected a Kitsu project id (a UUID)').transform((id) => id.toLowerCase()))
    .min(1, 'list at least one project id, or leave projects out')
    .optional(),
});
export type CatalogueAllow = z.infer<typeof CatalogueAllow>;

/**
 * How the browser reaches an action. Kitsu always posts; `get` also serves it as a plain link (the same
 * fields in the query string), which a page elsewhere can make a browser follow: only when asked for.
 */
export const ActionMethod = z.enum(['post', 'get'], {
  error: (issue) => `unknown method ${JSON.stringify(issue.input)} (methods: post, get)`,
});
export type ActionMethod = z.infer<typeof ActionMethod>;

export const CatalogueAction = z
  .strictObject({
    id: z
      .string()
      .regex(
        /^[a-z0-9][a-z0-9_-]{0,63}$/,
        'use lowercase letters, digits, - and _ (it becomes the URL /actions/<id>)',
      ),
    name: z.string().trim().min(1).max(80),
    kind,
    description: z.string().optional(),
    entityType: CatalogueEntityType.default('all'),
    ajax: z.boolean().default(false),
    /** `get`: GET /actions/<id>?… runs it too; POST always does. */
    method: ActionMethod.default('post'),
    allow: CatalogueAllow.optional(),
    report: ReportSettings.optional(),
    options: z.unknown().default({}),
  })
  .superRefine((action, ctx) => {
    for (const problem of optionProblems(action)) ctx.addIssue({ code: 'custom', ...problem });
  });
export type CatalogueAction = z.infer<typeof CatalogueAction>;

function rawActions(raw: unknown): unknown[] {
  const actions = (raw as { actions?: unknown } | null)?.actions;
  return Array.isArray(actions) ? actions : [];
}

/** Found on the raw list, so duplicates are reported alongside every other problem. */
function duplicateIds(raw: unknown): Problem[] {
  const seen = new Map<string, number>();
  const problems: Problem[] = [];
  rawActions(raw).forEach((action, index) => {
    const id = (action as { id?: unknown } | null)?.id;
    if (typeof id !== 'string') return;
    const first = seen.get(id);
    if (first === undefined) seen.set(id, index);
    else
      problems.push({
        message: `duplicate id "${id}" (already used by actions[${first}])`,
        path: ['actions', index, 'id'],
      });
  });
  return problems;
}

/** zod does not refine an object that has other errors, so options of such actions are checked apart. */
function allOptionProblems(raw: unknown): Problem[] {
  return rawActions(raw).flatMap((action, index) =>
    typeof action === 'object' && action !== null
      ? optionProblems(action).map((problem) => ({ ...problem, path: ['actions', index, ...problem.path] }))
      : [],
  );
}

export const Catalogue = z.strictObject({ actions: z.array(CatalogueAction) });
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
  const raw: unknown = document.toJS() ?? {};
  const parsed = Catalogue.safeParse(raw);
  const problems: Problem[] = [...(parsed.success ? [] : parsed.error.issues), ...duplicateIds(raw)];
  const key = (problem: Problem): string => `${problem.path.map(String).join('.')}|${problem.message}`;
  const seen = new Set(problems.map(key));
  for (const problem of allOptionProblems(raw)) if (!seen.has(key(problem))) problems.push(problem);
  if (parsed.success && problems.length === 0) return parsed.data;
  throw new CatalogueError(
    file,
    problems.map(
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
