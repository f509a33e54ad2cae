import type { ActionRequest, CatalogueAction } from '@kitsu-actions/shared';
import { ZouError, type Person, type Project, type Task, type ZouClient } from '@kitsu-actions/zou';
import { HttpProblem } from './errors.ts';
import type { Caller } from './identity.ts';

export interface Authorizer {
  /**
   * Checks the action's `allow` rules and, under zou-session, the selection against Kitsu. Returns the
   * request with what Kitsu said about it (the projects of the tasks); throws an HttpProblem otherwise.
   */
  authorize(action: CatalogueAction, request: ActionRequest, caller: Caller): Promise<ActionRequest>;
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

/** Past this many tasks, a selection from one production is read from its paged task list instead. */
export const projectListThreshold = 50;

/**
 * Every selected task, read with the bot. A large selection from a known production is read from that
 * production's task list (pages of 100, in parallel) rather than task by task; whatever the list does not
 * hold (unknown ids, other productions' tasks) is then read one by one so the answer can name it.
 */
async function readTasks(zou: ZouClient, request: ActionRequest): Promise<Found[]> {
  const listed = new Map<string, Task>();
  if (request.projectId !== undefined && request.taskIds.length > projectListThreshold) {
    const wanted = new Set(request.taskIds);
    try {
      for (const task of await zou.listProjectTasks(request.projectId)) {
        if (wanted.has(task.id)) listed.set(task.id, task);
      }
    } catch (error) {
      // The bot may not list that production (or it does not exist): read the tasks one by one instead.
      if (!(error instanceof ZouError && (error.status === 403 || error.status === 404))) throw error;
    }
  }
  return Promise.all(
    request.taskIds.map(async (id): Promise<Found> => {
      const task = listed.get(id);
      return task === undefined ? readTask(zou, id) : { id, task };
    }),
  );
}

/**
 * The selection as Kitsu knows it, checked with the bot: every task exists, belongs to the request's
 * project (when one is given), and the person can see it by Zou's own rule (admins see every project;
 * everyone else must be on the project's team; vendors only see tasks assigned to them).
 */
async function checkSelection(
  zou: ZouClient,
  request: ActionRequest,
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
  const tasks = found.flatMap((item) => ('task' in item ? [item.task] : []));
  const projectIds = [...new Set(tasks.map((task) => task.project_id))];
  const projects = new Map<string, Project>(
    await Promise.all(projectIds.map(async (id) => [id, await zou.getProject(id)] as const)),
  );
  const nameOf = (id: string): string => {
    const project = projects.get(id);
    return project === undefined ? id : `"${project.name}"`;
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

  if (person.role !== 'admin') {
    for (const [id, project] of projects) {
      if (project.team?.includes(person.id) === true) continue;
      const hidden = tasks.filter((task) => task.project_id === id).map((task) => task.id);
      throw new HttpProblem(
        403,
        'project_not_visible',
        `${who(person)} is not on the team of ${nameOf(id)}, so Kitsu does not show them task ${list(hidden)}; nothing was queued.`,
        { projectId: id, tasks: hidden },
      );
    }
  }
  if (person.role === 'vendor') {
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

function checkProjects(action: CatalogueAction, request: ActionRequest): void {
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
 * The receiver's authorization. `zou` is the bot client; without it (no KITSU_BOT_TOKEN) the selection
 * cannot be checked, which config refuses under zou-session.
 */
export function createAuthorizer(zou: ZouClient | undefined): Authorizer {
  return {
    async authorize(action, request, caller) {
      checkRoles(action, caller);
      let checked = request;
      if (caller.mode === 'zou-session' && zou !== undefined) {
        const { projectIds } = await checkSelection(zou, request, caller.person);
        const derived = projectIds.length === 1 ? projectIds[0] : undefined;
        checked = {
          ...request,
          projectIds,
          ...(request.projectId === undefined && derived !== undefined ? { projectId: derived } : {}),
        };
      }
      checkProjects(action, checked);
      return checked;
    },
  };
}
