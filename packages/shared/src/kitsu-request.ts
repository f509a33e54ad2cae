import { z } from 'zod';
import { AuthMode } from './config.ts';

/** Entity types Kitsu puts in `entitytype` (derived from the page; "My tasks" pages send `episode`). */
export const EntityType = z.enum(['asset', 'shot', 'sequence', 'edit', 'episode']);
export type EntityType = z.infer<typeof EntityType>;

/** How the request reached us: Kitsu's AJAX mode, its form mode (new tab), or a GET-style action. */
export const RequestMode = z.enum(['ajax', 'form', 'get']);
export type RequestMode = z.infer<typeof RequestMode>;

const id = z.guid();

/**
 * What Kitsu sent, normalized at the edge: nothing in it is vouched for. The person is the one the
 * payload names, if it names one (under zou-session Kitsu's session says who is calling instead).
 */
export const ActionRequest = z.object({
  actionId: z.string().min(1),
  personId: id.optional(),
  personEmail: z.string().optional(),
  /**
   * Absent on cross-production pages (My tasks): derived from the tasks when the receiver checks the
   * selection against Kitsu (and they all belong to one project).
   */
  projectId: id.optional(),
  taskIds: z.array(id).min(1),
  entityType: EntityType,
  origin: z.object({ server: z.string().optional(), path: z.string().optional() }),
  mode: RequestMode,
  receivedAt: z.iso.datetime(),
});
export type ActionRequest = z.infer<typeof ActionRequest>;

/**
 * A request bound to its caller (bindCaller, in the receiver: under zou-session the session's person and
 * email replace the payload's) and checked by authorization: what a job stores. The field names are
 * those of jobs already in Redis, which must keep parsing.
 */
export const VerifiedRequest = ActionRequest.extend({
  personId: id,
  /** The projects of the selected tasks, as Kitsu said when the selection was checked. */
  projectIds: z.array(id).optional(),
  /** How the person was established: `zou-session` means Kitsu itself vouched for them. */
  identity: z.object({ mode: AuthMode, role: z.string().optional() }).optional(),
});
export type VerifiedRequest = z.infer<typeof VerifiedRequest>;

export type RequestProblemCode =
  | 'empty_selection'
  | 'invalid_selection'
  | 'invalid_id'
  | 'missing_field'
  | 'invalid_field'
  | 'conflicting_fields'
  | 'too_many_tasks';

/** What is wrong with a request, in words the artist who clicked can act on. */
export class RequestProblem extends Error {
  constructor(
    readonly code: RequestProblemCode,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'RequestProblem';
  }
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Shows a bad value without letting a huge or hostile one through whole. */
export function preview(value: unknown, max = 60): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  return text.length > max ? `${text.slice(0, max)}… (${text.length} characters)` : text;
}

/** The first of `names` present in `fields`, as one string; '' counts as absent. */
function field(
  fields: Record<string, unknown>,
  names: readonly string[],
  maxLength: number,
): string | undefined {
  let found: { name: string; value: string } | undefined;
  for (const name of names) {
    let value = fields[name];
    if (value === undefined || value === null || value === '') continue;
    if (Array.isArray(value)) {
      const distinct = [...new Set(value)];
      if (distinct.length !== 1) {
        throw new RequestProblem(
          'conflicting_fields',
          `${name} was sent ${value.length} times with different values`,
          name,
        );
      }
      value = distinct[0];
    }
    if (typeof value !== 'string') {
      throw new RequestProblem('invalid_field', `${name} must be a text value, got ${preview(value)}`, name);
    }
    if (value.length > maxLength) {
      throw new RequestProblem(
        'invalid_field',
        `${name} is too long (${value.length} characters, at most ${maxLength})`,
        name,
      );
    }
    if (found && found.value !== value) {
      throw new RequestProblem(
        'conflicting_fields',
        `${found.name} (${preview(found.value)}) and ${name} (${preview(value)}) disagree`,
        name,
      );
    }
    found ??= { name, value };
  }
  return found?.value;
}

function uuidField(
  fields: Record<string, unknown>,
  names: readonly string[],
  what: string,
): string | undefined {
  const value = field(fields, names, 200);
  if (value === undefined) return undefined;
  if (!uuidPattern.test(value.trim())) {
    throw new RequestProblem(
      'invalid_id',
      `${what} must be a Kitsu id (a UUID), got "${preview(value)}"`,
      names[0],
    );
  }
  return value.trim().toLowerCase();
}

function selectionIds(raw: unknown, actionName: string, maxSelection: number): string[] {
  const before = `Select at least one task before running "${actionName}".`;
  let items: unknown[];
  if (raw === undefined || raw === null) {
    throw new RequestProblem('empty_selection', `No selection was sent. ${before}`, 'selection');
  } else if (typeof raw === 'string') {
    items = raw.split(',');
  } else if (Array.isArray(raw)) {
    // A form may repeat the field, each occurrence holding one id or a comma-joined list.
    items = raw.flatMap((item: unknown) => (typeof item === 'string' ? item.split(',') : [item]));
  } else {
    throw new RequestProblem(
      'invalid_selection',
      `selection must be a list of task ids, got ${preview(raw)}`,
      'selection',
    );
  }
  const ids = new Set<string>();
  for (const item of items) {
    if (typeof item !== 'string') {
      throw new RequestProblem(
        'invalid_selection',
        `selection must hold task ids as text, got ${preview(item)}`,
        'selection',
      );
    }
    const trimmed = item.trim();
    if (trimmed === '') continue;
    if (!uuidPattern.test(trimmed)) {
      throw new RequestProblem(
        'invalid_id',
        `selection holds "${preview(trimmed)}", which is not a Kitsu task id`,
        'selection',
      );
    }
    ids.add(trimmed.toLowerCase());
  }
  if (ids.size === 0)
    throw new RequestProblem('empty_selection', `The selection is empty. ${before}`, 'selection');
  if (ids.size > maxSelection) {
    throw new RequestProblem(
      'too_many_tasks',
      `${ids.size} tasks were selected; "${actionName}" accepts at most ${maxSelection} at once. Select fewer tasks.`,
      'selection',
    );
  }
  return [...ids];
}

export interface NormalizeContext {
  actionId: string;
  actionName: string;
  /**
   * Whether the request must name its person (userid/personid): not when Kitsu's session will say who
   * is calling (AUTH_MODE=zou-session).
   */
  requirePerson: boolean;
  mode: RequestMode;
  maxSelection: number;
  receivedAt: Date;
}

/** A request that names nobody where the receiver cannot tell who is calling on its own. */
export function missingPerson(): RequestProblem {
  return new RequestProblem(
    'missing_field',
    'The request does not say who is running the action (no userid or personid).',
    'personid',
  );
}

/**
 * Turns any of the shapes Kitsu sends (AJAX JSON, form fields, the documentation's JSON example,
 * a query string) into one ActionRequest: what was sent, nothing about who is calling. Throws
 * RequestProblem with a message for a person.
 */
export function normalizeKitsuRequest(
  fields: Record<string, unknown>,
  context: NormalizeContext,
): ActionRequest {
  const personId = uuidField(fields, ['userid', 'personid'], 'The person id (userid/personid)');
  // Checked first: a request that names nobody is told so before anything else is wrong with it.
  if (personId === undefined && context.requirePerson) throw missingPerson();
  const projectId = uuidField(
    fields,
    ['productionid', 'projectid'],
    'The production id (productionid/projectid)',
  );
  const personEmail = field(fields, ['useremail', 'personemail'], 320);
  if (personEmail !== undefined && !/^[^\s@]+@[^\s@]+$/.test(personEmail)) {
    throw new RequestProblem(
      'invalid_field',
      `The person's email "${preview(personEmail)}" is not an address`,
      'personemail',
    );
  }
  const rawEntityType = field(fields, ['entitytype'], 40)?.toLowerCase() ?? 'episode';
  const entityType = EntityType.safeParse(rawEntityType);
  if (!entityType.success) {
    throw new RequestProblem(
      'invalid_field',
      `entitytype "${preview(rawEntityType)}" is not one Kitsu sends (${EntityType.options.join(', ')})`,
      'entitytype',
    );
  }
  const server = field(fields, ['originserver', 'currentserver'], 255);
  const pagePath = field(fields, ['originurl', 'currentpath'], 2048);
  return {
    actionId: context.actionId,
    ...(personId === undefined ? {} : { personId }),
    ...(personEmail === undefined ? {} : { personEmail }),
    ...(projectId === undefined ? {} : { projectId }),
    taskIds: selectionIds(
      fields['selection'] ?? fields['selection[]'],
      context.actionName,
      context.maxSelection,
    ),
    entityType: entityType.data,
    origin: {
      ...(server === undefined ? {} : { server }),
      ...(pagePath === undefined ? {} : { path: pagePath }),
    },
    mode: context.mode,
    receivedAt: context.receivedAt.toISOString(),
  };
}

/** The fields Kitsu sends; anything else is kept for the debug page but never trusted. */
export const knownKitsuFields = new Set([
  'userid',
  'useremail',
  'personid',
  'personemail',
  'productionid',
  'projectid',
  'originurl',
  'originserver',
  'currentpath',
  'currentserver',
  'selection',
  'selection[]',
  'entitytype',
]);
