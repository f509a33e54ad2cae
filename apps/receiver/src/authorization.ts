import type { CatalogueAction, VerifiedRequest } from '@kitsu-actions/shared';
import { ZouError, type Person, type Project, type Task, type ZouClient } from '@kitsu-actions/zou';
import { setNewest } from './bounded.ts';
import { HttpProblem } from './errors.ts';
import type { Caller } from './identity.ts';

export interface Authorizer {
  /**
   * Checks the action's `allow` rules and, under zou-session, the selection against Kitsu. Returns the
   * request (bound to `caller` by bindCaller) with what Kitsu said about it (the projects of the tasks);
   * throws an HttpProblem otherwise.
   */
  authorize(action: CatalogueAction, request: VerifiedRequest, caller: Caller): Promise<VerifiedRequest>;
}

/** At most this many ids are named in one message; the rest are counted. */
const named = 5;

function list(ids: readonly string[]): string {
  const shown = ids.slice(0, named).join(', ');
  return ids.length > named ? `${shown} and ${ids.length - named} more` : shown;
}

function who(person: Person): string {
  const name = person.full_name ?? `${person.first_name} ${person.last_name}`;
  return `${name} (${person.role})`;
}

type Found = { id: string; task: Task } | { id: string; status: 403 | 404 };

/** Reads one task with the bot: 404 and 403 are answers about the task, anything else is a failure. */
async function readTask(zou: ZouClient, id: string): Promise<Found> {
  try {
    return { id, task: await zou.getTask(id) };
  } catch (error) {
    if (error instanceof ZouError && (error.status === 404 || error.status === 403)) {
      return { id, status: error.status };
    }
    throw error;
  }
}

/**
 * Zou calls one request may have in flight at once. The bot's client runs 8 at a time, first come first
 * served: a request holding all of them (a selection of thousands) would make everyone else wait.
 */
export const zouShareOfRequest = 2;

/**
 * Runs `work` on the items, at most `limit` at a time, in order; stops starting new ones once `work`
 * answers false (or throws), and waits for those under way.
 */
async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<boolean>,
): Promise<void> {
  let next = 0;
  let stopped = false;
  const lane = async (): Promise<void> => {
    while (!stopped && next < items.length) {
      const item = items[next] as T;
      next += 1;
      try {
        if (!(await work(item))) stopped = true;
      } catch (error) {
        stopped = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

/** Past this many tasks, a selection from one production is read from its paged task list instead. */
export const projectListThreshold = 50;

/**
 * The selected tasks, read with the bot. A large selection from a known production is read from that
 * production's task list (pages of 100) rather than task by task; whatever the list does not hold
 * (unknown ids, other productions' tasks) is then read one by one, a few at a time, stopping at the first
 * task Kitsu refuses: one is enough to refuse the request, and naming it is enough to fix it.
 */
async function readTasks(zou: ZouClient, request: VerifiedRequest): Promise<Found[]> {
  const listed = new Map<string, Task>();
  if (request.projectId !== undefined && request.taskIds.length > projectListThreshold) {
    try {
      const tasks = await zou.listProjectTasks(request.projectId, { concurrency: zouShareOfRequest });
      const inList = new Map(tasks.map((task) => [task.id, task]));
      for (const id of request.taskIds) {
        const task = inList.get(id);
        if (task !== undefined) listed.set(id, task);
      }
    } catch (error) {
      // The bot may not list that production (or it does not exist): read the tasks one by one instead.
      if (!(error instanceof ZouError && (error.status === 403 || error.status === 404))) throw error;
    }
  }
  const found = new Map<string, Found>([...listed].map(([id, task]) => [id, { id, task }]));
  const rest = request.taskIds.filter((id) => !listed.has(id));
  await eachLimited(rest, zouShareOfRequest, async (id) => {
    const answer = await readTask(zou, id);
    found.set(id, answer);
    return 'task' in answer;
  });
  return request.taskIds.flatMap((id) => {
    const answer = found.get(id);
    return answer === undefined ? [] : [answer];
  });
}

/**
 * Productions as the bot reads them (name, team), kept briefly: every listing and status read checks
 * teams, and a click checks the productions of its tasks. Bounded; concurrent reads of one share a call.
 */
export class ProjectDirectory {
  private readonly entries = new Map<string, { project: Promise<Project | undefined>; until: number }>();

  constructor(
    private readonly zou: ZouClient,
    private readonly ttlMs: number,
    private readonly maxEntries = 1000,
    private readonly now: () => number = Date.now,
  ) {}

  /** The production, or undefined when Kitsu has none by that id or the bot may not read it. */
  async get(id: string): Promise<Project | undefined> {
    const entry = this.entries.get(id);
    if (entry !== undefined && entry.until > this.now()) return entry.project;
    const project = this.zou.getProject(id).catch((error: unknown) => {
      if (error instanceof ZouError && (error.status === 404 || error.status === 403)) return undefined;
      this.entries.delete(id);
      throw error;
    });
    setNewest(this.entries, id, { project, until: this.now() + this.ttlMs }, this.maxEntries);
    return project;
  }

  /** The productions of `ids`, a few Zou calls at a time. */
  async getMany(ids: readonly string[]): Promise<Map<string, Project | undefined>> {
    const out = new Map<string, Project | undefined>();
    await eachLimited([...new Set(ids)], zouShareOfRequest, async (id) => {
      out.set(id, await this.get(id));
      return true;
    });
    return out;
  }
}

function onTeam(project: Project | undefined, person: Person): boolean {
  if (project === undefined) return false;
  // Stryker disable next-line OptionalChaining: equivalent here, Zou sends the team with a production read by id.
  return project.team?.includes(person.id) === true;
}

/**
 * The selection as Kitsu knows it, checked with the bot: every task exists, belongs to the request's
 * project (when one is given), and the person can see it by Zou's own rule (admins see every project;
 * everyone else must be on the project's team; vendors only see tasks assigned to them). A production is
 * named only to someone on its team (or an admin).
 */
async function checkSelection(
  zou: ZouClient,
  projects: ProjectDirectory,
  request: VerifiedRequest,
  person: Person,
): Promise<{ projectIds: string[] }> {
  const found = await readTasks(zou, request);
  const missing = found.flatMap((item) => ('status' in item && item.status === 404 ? [item.id] : []));
  if (missing.length > 0) {
    throw new HttpProblem(
      400,
      'unknown_tasks',
      `Kitsu has no task ${list(missing)}; nothing was queued. Reload the page in Kitsu and select the tasks again.`,
      { tasks: missing },
    );
  }
  const unreadable = found.flatMap((item) => ('status' in item ? [item.id] : []));
  if (unreadable.length > 0) {
    throw new HttpProblem(
      403,
      'tasks_not_readable',
      `The kitsu-actions bot may not read task ${list(unreadable)} in Kitsu, so the selection cannot be checked; nothing was queued. A Kitsu admin must add the bot to that production's team.`,
      { tasks: unreadable },
    );
  }
  // Stryker disable next-line ArrayDeclaration: equivalent, every answer left is a task (refused above).
  const tasks = found.flatMap((item) => ('task' in item ? [item.task] : []));
  const projectIds = [...new Set(tasks.map((task) => task.project_id))];
  const read = await projects.getMany(projectIds);
  const visible = (id: string): boolean => person.role === 'admin' || onTeam(read.get(id), person);
  const nameOf = (id: string): string => {
    const project = read.get(id);
    if (project === undefined) return 'a production the kitsu-actions bot cannot read';
    return visible(id) ? `"${project.name}"` : 'a production you are not on the team of';
  };

  if (request.projectId !== undefined) {
    const outside = tasks.filter((task) => task.project_id !== request.projectId);
    const first = outside[0];
    if (first !== undefined) {
      throw new HttpProblem(
        400,
        'task_outside_project',
        `Task ${list(outside.map((task) => task.id))} belongs to ${nameOf(first.project_id)}, not to the production the action was run from (${request.projectId}); nothing was queued.`,
        { tasks: outside.map((task) => task.id), projectId: request.projectId },
      );
    }
  }

  for (const id of projectIds) {
    if (visible(id)) continue;
    const hidden = tasks.filter((task) => task.project_id === id).map((task) => task.id);
    // Nothing about that production: not its name, not its id.
    throw new HttpProblem(
      403,
      'project_not_visible',
      `${who(person)} is not on the team of the production of task ${list(hidden)}, so Kitsu does not show it to them; nothing was queued.`,
      { tasks: hidden },
    );
  }
  if (person.role === 'vendor') {
    // Stryker disable next-line OptionalChaining: equivalent here, Zou sends assignees with a task read by id or listed by production.
    const notTheirs = tasks.filter((task) => task.assignees?.includes(person.id) !== true);
    if (notTheirs.length > 0) {
      throw new HttpProblem(
        403,
        'task_not_visible',
        `${who(person)} is a vendor and Kitsu only shows vendors their own tasks; task ${list(notTheirs.map((task) => task.id))} is not assigned to them. Nothing was queued.`,
        { tasks: notTheirs.map((task) => task.id) },
      );
    }
  }
  return { projectIds };
}

function checkRoles(action: CatalogueAction, caller: Caller): void {
  const roles = action.allow?.roles;
  if (roles === undefined) return;
  if (caller.mode !== 'zou-session') {
    // main.ts refuses such a catalogue at start-up; this guards a catalogue built elsewhere.
    throw new HttpProblem(
      403,
      'role_unknown',
      `"${action.name}" is limited to the roles ${roles.join(', ')}, and this receiver cannot tell roles (AUTH_MODE=${caller.mode}; only zou-session can).`,
    );
  }
  if (!(roles as readonly string[]).includes(caller.person.role)) {
    throw new HttpProblem(
      403,
      'role_not_allowed',
      `"${action.name}" is for ${roles.join(', ')}; ${who(caller.person)} may not run it. Nothing was queued.`,
      { roles, role: caller.person.role },
    );
  }
}

function checkProjects(action: CatalogueAction, request: VerifiedRequest): void {
  const allowed = action.allow?.projects;
  if (allowed === undefined) return;
  const requested = request.projectIds ?? (request.projectId === undefined ? [] : [request.projectId]);
  if (requested.length === 0) {
    throw new HttpProblem(
      403,
      'project_not_allowed',
      `"${action.name}" is limited to some productions, and the request names none. Run it from a production's page in Kitsu.`,
    );
  }
  const refused = requested.filter((id) => !allowed.includes(id));
  if (refused.length > 0) {
    throw new HttpProblem(
      403,
      'project_not_allowed',
      `"${action.name}" may not run on production ${list(refused)}. Nothing was queued.`,
      { projects: refused },
    );
  }
}

/**
 * The receiver's authorization. `kitsu` is the bot client and its production directory; without them (no
 * KITSU_BOT_TOKEN) the selection cannot be checked, which config refuses under zou-session.
 */
export function createAuthorizer(
  kitsu: { zou: ZouClient; projects: ProjectDirectory } | undefined,
): Authorizer {
  return {
    async authorize(action, request, caller) {
      checkRoles(action, caller);
      let checked = request;
      if (caller.mode === 'zou-session' && kitsu !== undefined) {
        const { projectIds } = await checkSelection(kitsu.zou, kitsu.projects, request, caller.person);
        // Tasks of one production name it; a request's own projectId is that one (checked above).
        checked = {
          ...request,
          projectIds,
          ...(projectIds.length === 1 ? { projectId: projectIds[0] } : {}),
        };
      }
      checkProjects(action, checked);
      return checked;
    },
  };
}

/**
 * Who may read a job (GET /jobs, /jobs/:id, its result, its cancel):
 * - `everyone`: AUTH_MODE=none, the shared ACTIONS_TOKEN, a Kitsu admin;
 * - `job`: the holder of one job's capability (AUTH_MODE=token), that job only;
 * - `person`: their own jobs and, for managers and supervisors (`teams`), the jobs of productions whose
 *   team they are on (Zou's rule for what they see in Kitsu). Vendors, clients and artists: their own.
 */
export type JobReader =
  { kind: 'everyone' } | { kind: 'job'; jobId: string } | { kind: 'person'; person: Person; teams: boolean };

/** Kitsu roles that see the jobs of their productions' teams, not only their own. */
export const teamReaderRoles: ReadonlySet<string> = new Set(['manager', 'supervisor']);

export function readerOfPerson(person: Person): JobReader {
  if (person.role === 'admin') return { kind: 'everyone' };
  return { kind: 'person', person, teams: teamReaderRoles.has(person.role) };
}

export interface JobReadAccess {
  /** Whether the reader may read this job. */
  canRead(
    reader: JobReader,
    job: { id: string; personId: string; projectIds: readonly string[] },
  ): Promise<boolean>;
  /** Whether every production of the job has the person on its team. */
  onTeams(person: Person, projectIds: readonly string[]): Promise<boolean>;
  /**
   * The listing filter of a reader, from the scopes (production sets) jobs have; undefined: every job.
   * A capability lists nothing.
   */
  visibleTo(
    reader: JobReader,
    scopes: () => Promise<string[]>,
  ): Promise<{ personId?: string; scopes: string[] } | undefined>;
}

export function createJobReadAccess(projects: ProjectDirectory | undefined): JobReadAccess {
  const onTeams = async (person: Person, projectIds: readonly string[]): Promise<boolean> => {
    if (projectIds.length === 0 || projects === undefined) return false;
    const read = await projects.getMany(projectIds);
    return projectIds.every((id) => onTeam(read.get(id), person));
  };
  return {
    onTeams,
    async canRead(reader, job) {
      switch (reader.kind) {
        case 'everyone':
          return true;
        case 'job':
          return reader.jobId === job.id;
        case 'person':
          if (job.personId === reader.person.id.toLowerCase()) return true;
          return reader.teams && (await onTeams(reader.person, job.projectIds));
      }
    },
    async visibleTo(reader, scopes) {
      if (reader.kind === 'everyone') return undefined;
      if (reader.kind === 'job') return { scopes: [] };
      const personId = reader.person.id.toLowerCase();
      if (!reader.teams) return { personId, scopes: [] };
      const all = await scopes();
      const projectIds = all.flatMap((scope) => scope.split(','));
      const read =
        projects === undefined ? new Map<string, Project | undefined>() : await projects.getMany(projectIds);
      const visible = all.filter((scope) =>
        scope.split(',').every((id) => onTeam(read.get(id), reader.person)),
      );
      return { personId, scopes: visible };
    },
  };
}
