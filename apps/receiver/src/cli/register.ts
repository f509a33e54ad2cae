import type { Catalogue, Config } from '@kitsu-actions/shared';
import type { CustomAction, ZouClient } from '@kitsu-actions/zou';

/** Zou's `custom_action.url` column. */
export const maxUrlLength = 400;

/** The query parameter AUTH_MODE=token reads the shared secret from (routes/actions.ts). */
const tokenParam = 'token';

/** A catalogue action as Kitsu should hold it. */
export interface DesiredAction {
  /** The catalogue id: the last segment of the URL. */
  actionId: string;
  name: string;
  url: string;
  entity_type: string;
  is_ajax: boolean;
}

export type Field = 'name' | 'url' | 'entity_type' | 'is_ajax';
const fields: readonly Field[] = ['name', 'url', 'entity_type', 'is_ajax'];

export interface FieldChange {
  field: Field;
  from: string | boolean | null;
  to: string | boolean;
}

export type PlanStep =
  | { op: 'create'; desired: DesiredAction }
  | { op: 'update'; current: CustomAction; desired: DesiredAction; changes: FieldChange[] }
  | { op: 'unchanged'; current: CustomAction; desired: DesiredAction }
  | { op: 'delete'; current: CustomAction; reason: string }
  /** Ours and no longer wanted, but left in place because --prune was not given. */
  | { op: 'keep'; current: CustomAction; reason: string };

export interface RegistrationPlan {
  steps: PlanStep[];
  /** Custom actions of Kitsu that are not ours (URL not under PUBLIC_URL/actions/): never touched. */
  others: CustomAction[];
}

/** A problem with the settings or the catalogue that no retry will fix (exit 78). */
export class RegisterConfigError extends Error {
  override name = 'RegisterConfigError';
}

/**
 * The custom actions the catalogue asks for. Under AUTH_MODE=token the URL carries the shared secret,
 * since Kitsu cannot send a header: without it every click would be refused with 401.
 */
export function desiredActions(
  catalogue: Catalogue,
  options: { publicUrl: string; actionsToken?: string | undefined },
): DesiredAction[] {
  const base = options.publicUrl.replace(/\/+$/, '');
  const query =
    options.actionsToken === undefined ? '' : `?${tokenParam}=${encodeURIComponent(options.actionsToken)}`;
  const desired = catalogue.actions.map((action) => ({
    actionId: action.id,
    name: action.name,
    url: `${base}/actions/${action.id}${query}`,
    entity_type: action.entityType,
    is_ajax: action.ajax,
  }));
  const tooLong = desired.filter((action) => action.url.length > maxUrlLength);
  if (tooLong.length > 0) {
    throw new RegisterConfigError(
      tooLong
        .map(
          (action) =>
            `the URL of "${action.actionId}" is ${String(action.url.length)} characters long (${masked(action.url)}); ` +
            `Kitsu stores at most ${String(maxUrlLength)}: shorten PUBLIC_URL${query === '' ? '' : ' or ACTIONS_TOKEN'} or the action id`,
        )
        .join('\n'),
    );
  }
  return desired;
}

/**
 * The catalogue id a Kitsu custom action points at when its URL is `<publicUrl>/actions/<id>` (any query
 * or trailing slash aside), else undefined: then the action is not ours.
 */
export function ourActionId(url: string | null, publicUrl: string): string | undefined {
  if (url === null) return undefined;
  let target: URL;
  let base: URL;
  try {
    target = new URL(url);
    base = new URL(publicUrl);
  } catch {
    return undefined; // not a URL at all: certainly not one we registered
  }
  if (target.origin !== base.origin) return undefined;
  const prefix = `${base.pathname.replace(/\/+$/, '')}/actions/`;
  if (!target.pathname.startsWith(prefix)) return undefined;
  const rest = target.pathname.slice(prefix.length).replace(/\/+$/, '');
  if (rest === '' || rest.includes('/')) return undefined;
  try {
    return decodeURIComponent(rest);
  } catch {
    return undefined;
  }
}

function changesOf(current: CustomAction, desired: DesiredAction): FieldChange[] {
  return fields.flatMap((field) =>
    current[field] === desired[field] ? [] : [{ field, from: current[field], to: desired[field] }],
  );
}

/**
 * What to do to make Kitsu's custom actions match the catalogue. Pure: no request is made.
 *
 * A catalogue action is matched first to a Kitsu action whose URL points at its id (so a renamed action
 * is updated, not duplicated), then by name (so an action typed in by hand is adopted, and the URL fixed).
 * Kitsu actions pointing at one of our URLs that nothing matched are deleted with `prune`, else kept;
 * any other Kitsu action is never touched.
 */
export function planRegistration(
  current: readonly CustomAction[],
  desired: readonly DesiredAction[],
  options: { prune: boolean; publicUrl: string },
): RegistrationPlan {
  const claimed = new Set<string>();
  const matched = new Map<DesiredAction, CustomAction>();
  const claim = (want: DesiredAction, found: CustomAction | undefined): void => {
    if (found === undefined) return;
    claimed.add(found.id);
    matched.set(want, found);
  };
  const free = (action: CustomAction): boolean => !claimed.has(action.id);

  for (const want of desired) {
    const byUrl = current.filter(
      (action) => free(action) && ourActionId(action.url, options.publicUrl) === want.actionId,
    );
    claim(want, byUrl.find((action) => action.name === want.name) ?? byUrl[0]);
  }
  for (const want of desired) {
    if (matched.has(want)) continue;
    const byName = current.filter((action) => free(action) && action.name === want.name);
    claim(want, byName.find((action) => action.entity_type === want.entity_type) ?? byName[0]);
  }

  const steps: PlanStep[] = desired.map((want): PlanStep => {
    const found = matched.get(want);
    if (found === undefined) return { op: 'create', desired: want };
    const changes = changesOf(found, want);
    return changes.length === 0
      ? { op: 'unchanged', current: found, desired: want }
      : { op: 'update', current: found, desired: want, changes };
  });
  const wantedIds = new Set(desired.map((want) => want.actionId));
  const others: CustomAction[] = [];
  for (const action of current) {
    if (!free(action)) continue;
    const id = ourActionId(action.url, options.publicUrl);
    if (id === undefined) {
      others.push(action);
      continue;
    }
    const reason = wantedIds.has(id)
      ? `a second Kitsu action for "${id}"`
      : `"${id}" is not in the catalogue`;
    steps.push(
      options.prune ? { op: 'delete', current: action, reason } : { op: 'keep', current: action, reason },
    );
  }
  return { steps, others };
}

export interface ApplyResult {
  created: number;
  updated: number;
  deleted: number;
}

/** Thrown when a change fails part-way: says what was already done. */
export class ApplyError extends Error {
  override name = 'ApplyError';
  constructor(
    readonly step: PlanStep,
    readonly done: ApplyResult,
    cause: unknown,
  ) {
    const applied = done.created + done.updated + done.deleted;
    super(
      `${cause instanceof Error ? cause.message : String(cause)} ` +
        `(while trying to ${step.op} "${nameOf(step)}"; ${String(applied)} change${applied === 1 ? '' : 's'} applied before it)`,
      { cause },
    );
  }
}

/**
 * Applies a plan, one request at a time: creations and updates first, deletions last, so a failure
 * part-way never leaves Kitsu with fewer actions than before. Stops at the first error (ApplyError).
 */
export async function applyPlan(
  client: Pick<ZouClient, 'createCustomAction' | 'updateCustomAction' | 'deleteCustomAction'>,
  plan: RegistrationPlan,
): Promise<ApplyResult> {
  const done: ApplyResult = { created: 0, updated: 0, deleted: 0 };
  const order = { create: 0, update: 0, delete: 1 } as const;
  const writes = plan.steps
    .filter((step) => step.op === 'create' || step.op === 'update' || step.op === 'delete')
    .sort((a, b) => order[a.op] - order[b.op]);
  for (const step of writes) {
    try {
      if (step.op === 'create') {
        await client.createCustomAction(bodyOf(step.desired));
        done.created += 1;
      } else if (step.op === 'update') {
        // Every field is sent, not just the changed ones: a partial body would let the client's
        // schema defaults (entity_type "all", is_ajax false) overwrite the fields left out.
        await client.updateCustomAction(step.current.id, bodyOf(step.desired));
        done.updated += 1;
      } else {
        await client.deleteCustomAction(step.current.id);
        done.deleted += 1;
      }
    } catch (error) {
      throw new ApplyError(step, { ...done }, error);
    }
  }
  return done;
}

function bodyOf(desired: DesiredAction) {
  return {
    name: desired.name,
    url: desired.url,
    entity_type: desired.entity_type,
    is_ajax: desired.is_ajax,
  };
}

function nameOf(step: PlanStep): string {
  return step.op === 'create' ? step.desired.name : step.current.name;
}

/** Hides the shared secret of AUTH_MODE=token in anything printed. */
export function masked(url: string | null): string {
  if (url === null) return '(no URL)';
  return url.replace(/([?&]token=)[^&#]*/g, '$1***');
}

function shown(field: Field, value: string | boolean | null): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return String(value);
  return JSON.stringify(field === 'url' ? masked(value) : value);
}

function describeChange(change: FieldChange): string {
  const line = `${change.field}: ${shown(change.field, change.from)} → ${shown(change.field, change.to)}`;
  const sameOnScreen = change.field === 'url' && shown('url', change.from) === shown('url', change.to);
  return sameOnScreen ? `${line} (the token changed)` : line;
}

/** The plan as lines for a terminal: `+` create, `~` update, `-` delete, `=` unchanged, `!` kept. */
export function formatPlan(plan: RegistrationPlan, options: { prune: boolean }): string[] {
  const lines: string[] = [];
  for (const step of plan.steps) {
    switch (step.op) {
      case 'create':
        lines.push(
          `+ ${JSON.stringify(step.desired.name)}  ${masked(step.desired.url)}  entity_type=${step.desired.entity_type} is_ajax=${String(step.desired.is_ajax)}`,
        );
        break;
      case 'update':
        lines.push(`~ ${JSON.stringify(step.current.name)}  (${step.current.id})`);
        for (const change of step.changes) lines.push(`    ${describeChange(change)}`);
        break;
      case 'unchanged':
        lines.push(`= ${JSON.stringify(step.current.name)}  ${masked(step.current.url)}`);
        break;
      case 'delete':
        lines.push(`- ${JSON.stringify(step.current.name)}  ${masked(step.current.url)}  (${step.reason})`);
        break;
      case 'keep':
        lines.push(
          `! ${JSON.stringify(step.current.name)}  ${masked(step.current.url)}  (${step.reason}; kept: --prune deletes it)`,
        );
        break;
    }
  }
  const count = (op: PlanStep['op']): number => plan.steps.filter((step) => step.op === op).length;
  const kept = count('keep');
  lines.push(
    `${String(count('create'))} to create, ${String(count('update'))} to update, ` +
      `${String(count('delete'))} to delete, ${String(count('unchanged'))} unchanged` +
      (kept > 0 && !options.prune ? `, ${String(kept)} kept (not in the catalogue)` : '') +
      `; ${String(plan.others.length)} other Kitsu custom action${plan.others.length === 1 ? '' : 's'} (not under PUBLIC_URL) left alone`,
  );
  return lines;
}

export function hasWrites(plan: RegistrationPlan): boolean {
  return plan.steps.some((step) => step.op === 'create' || step.op === 'update' || step.op === 'delete');
}

export interface RegisterOptions {
  dryRun: boolean;
  prune: boolean;
}

export interface RegisterDeps {
  config: Pick<Config, 'publicUrl' | 'auth' | 'kitsu'>;
  catalogue: Catalogue;
  client: Pick<
    ZouClient,
    | 'baseUrl'
    | 'authenticated'
    | 'listCustomActions'
    | 'createCustomAction'
    | 'updateCustomAction'
    | 'deleteCustomAction'
  >;
  /** One line of output for the person at the terminal. */
  print: (line: string) => void;
}

/**
 * The whole command: read Kitsu's custom actions, plan, print, apply unless dry-run. Throws
 * RegisterConfigError for bad settings, and ZouError / ApplyError when Kitsu refuses or fails.
 */
export async function register(deps: RegisterDeps, options: RegisterOptions): Promise<ApplyResult> {
  const { config, catalogue, client, print } = deps;
  const botToken = config.kitsu?.botToken;
  if (botToken === undefined) {
    throw new RegisterConfigError(
      'KITSU_URL and KITSU_BOT_TOKEN are required: register changes Kitsu custom actions as that bot, which must have the admin role',
    );
  }
  const desired = desiredActions(catalogue, {
    publicUrl: config.publicUrl,
    actionsToken: config.auth.mode === 'token' ? config.auth.actionsToken : undefined,
  });
  const who = await client.authenticated(botToken, { via: 'bearer' });
  if (!who.authenticated) {
    throw new RegisterConfigError(
      `Kitsu at ${client.baseUrl} refused KITSU_BOT_TOKEN: ` +
        (who.status === null
          ? who.reason
          : `GET /auth/authenticated answered ${String(who.status)}: ${who.reason}`),
    );
  }
  const person = who.user;
  const personName = person.full_name ?? `${person.first_name} ${person.last_name}`;
  print(
    `Kitsu ${client.baseUrl}, as ${personName} (${person.role}); actions under ${config.publicUrl}/actions/` +
      (options.dryRun ? ' (dry run: nothing will be changed)' : ''),
  );
  const plan = planRegistration(await client.listCustomActions(), desired, {
    prune: options.prune,
    publicUrl: config.publicUrl,
  });
  for (const line of formatPlan(plan, options)) print(line);
  const none: ApplyResult = { created: 0, updated: 0, deleted: 0 };
  if (!hasWrites(plan)) {
    print('Kitsu already matches the catalogue: nothing to do.');
    return none;
  }
  if (options.dryRun) {
    if (person.role !== 'admin') {
      print(
        `Note: ${personName} is a ${person.role}; Zou lets only admins change custom actions, so without --dry-run this would be refused (403).`,
      );
    }
    print('Dry run: nothing was changed in Kitsu.');
    return none;
  }
  const done = await applyPlan(client, plan);
  print(
    `Done: ${String(done.created)} created, ${String(done.updated)} updated, ${String(done.deleted)} deleted.`,
  );
  return done;
}
