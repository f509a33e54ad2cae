import { z } from 'zod';
import { ZouError, ZouPlaylistExistsError, ZouResponseError } from './errors.ts';
import {
  AuthenticatedResponse,
  Comment,
  CommentInput,
  CommentManyItem,
  CustomAction,
  CustomActionInput,
  CustomActionUpdate,
  Entity,
  Paged,
  Person,
  Playlist,
  PlaylistInput,
  PlaylistUpdate,
  PreviewFile,
  Project,
  Task,
  TaskFull,
  TaskStatus,
  TaskTimeSpents,
  TaskType,
  TimeSpent,
} from './schemas.ts';
import { isWellFormedToken, ZouTransport } from './transport.ts';
import type { ZouTransportOptions } from './transport.ts';

export type ZouClientOptions = ZouTransportOptions;

/** Which `/data/<model>/<id>` route `getEntity` reads; `entity` is Zou's generic one, for any kind. */
export type ZouEntityKind = 'shot' | 'asset' | 'sequence' | 'episode' | 'entity';

const ENTITY_ROUTES = {
  shot: 'shots',
  asset: 'assets',
  sequence: 'sequences',
  episode: 'episodes',
  entity: 'entities',
} as const satisfies Record<ZouEntityKind, string>;

/** Who a user session token belongs to; a refused token is a result, not an exception. */
export type AuthenticatedResult =
  | { authenticated: true; user: Person }
  | {
      authenticated: false;
      /** 401 (missing, expired, revoked) or 422 (malformed, badly signed); null if refused locally. */
      status: 401 | 422 | null;
      reason: string;
    };

/** Tasks and everything they reference, each keyed by id. */
export interface TaskBatch {
  tasks: Record<string, Task>;
  /** The tasks' entities and, with `withParents`, their parents (sequence, episode). */
  entities: Record<string, Entity>;
  projects: Record<string, Project>;
  taskTypes: Record<string, TaskType>;
  taskStatuses: Record<string, TaskStatus>;
  /** Assignees and assigners of the tasks. */
  persons: Record<string, Person>;
  /** Requested ids Zou answered 404 for. */
  missing: string[];
}

/** Accepted by every method: aborting stops the request and its retries. */
export interface CallOptions {
  signal?: AbortSignal;
}

export interface GetTasksOptions extends CallOptions {
  /** Also load each entity's parent chain (shot -> sequence -> episode). Default true. */
  withParents?: boolean;
}

export interface ListProjectTasksOptions extends CallOptions {
  taskTypeId?: string;
  episodeId?: string;
  /**
   * Pages read at once after the first (default: as many as the client's concurrency allows). A caller
   * sharing the client with others passes its share, so one large project does not hold every slot.
   */
  concurrency?: number;
}

export interface CommentManyOptions extends CallOptions {
  /** Comments per request. Default 100. */
  chunkSize?: number;
}

export interface CreatePlaylistOptions extends CallOptions {
  /**
   * Zou refuses a duplicate name within an episode but accepts one when there is no episode. By
   * default the client checks first and throws ZouPlaylistExistsError; set true to skip the check.
   */
  allowDuplicateName?: boolean;
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids go into URL paths: anything but a UUID could change the route, so it is refused before sending. */
function checkId(id: string, what: string): string {
  if (!UUID_PATTERN.test(id)) {
    const shown = id.length > 40 ? `${id.slice(0, 40)}…` : id;
    throw new TypeError(`Invalid ${what} id "${shown}": Zou ids are UUIDs`);
  }
  return id;
}

function byId<T extends { id: string }>(items: Iterable<T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const item of items) out[item.id] = item;
  return out;
}

export type ZouClient = ReturnType<typeof createZouClient>;

/**
 * A typed Zou client. Every answer is validated by the matching schema in schemas.ts; failures throw
 * ZouError (or a subclass). All requests of one client share its concurrency limit.
 */
export function createZouClient(options: ZouClientOptions) {
  const http = new ZouTransport(options);

  const get = async <S extends z.ZodType>(
    route: string,
    schema: S,
    opts: CallOptions & { query?: Record<string, string | number | boolean | undefined> } = {},
  ): Promise<z.infer<S>> =>
    http.request({
      method: 'GET',
      route,
      schema,
      ...withSignal(opts),
      ...(opts.query === undefined ? {} : { query: opts.query }),
    });

  const client = {
    /** The base URL every route is appended to (normalized: no trailing slash). */
    baseUrl: http.baseUrl,

    /**
     * Asks Zou who owns a user's session token (Kitsu's `access_token_cookie`). Sent as that cookie by
     * default, or as a bearer. A missing, expired, malformed or revoked token is a result with
     * `authenticated: false`; only unreachable Zou or other errors throw.
     */
    async authenticated(
      userToken: string,
      options: CallOptions & { via?: 'cookie' | 'bearer' } = {},
    ): Promise<AuthenticatedResult> {
      if (!isWellFormedToken(userToken)) {
        return { authenticated: false, status: null, reason: 'the token is not a JWT' };
      }
      const route = 'auth/authenticated';
      const { status, body } = await http.requestRaw({
        method: 'GET',
        route,
        auth: { kind: 'user', token: userToken, via: options.via ?? 'cookie' },
        ...withSignal(options),
      });
      if (status === 401 || status === 422) {
        return {
          authenticated: false,
          status,
          reason: http.zouMessageOf(body) ?? (status === 401 ? 'token refused' : 'malformed token'),
        };
      }
      if (status >= 400) {
        throw new ZouError({
          baseUrl: http.baseUrl,
          method: 'GET',
          route: `/${route}`,
          status,
          zouMessage: http.zouMessageOf(body),
        });
      }
      const parsed = AuthenticatedResponse.safeParse(body);
      if (!parsed.success) {
        throw new ZouResponseError({
          baseUrl: http.baseUrl,
          method: 'GET',
          route: `/${route}`,
          status,
          problem: z.prettifyError(parsed.error),
        });
      }
      return { authenticated: true, user: parsed.data.user };
    },

    async getTask(id: string, opts: CallOptions = {}): Promise<Task> {
      return get(`data/tasks/${checkId(id, 'task')}`, Task, opts);
    },

    async getTaskFull(id: string, opts: CallOptions = {}): Promise<TaskFull> {
      return get(`data/tasks/${checkId(id, 'task')}/full`, TaskFull, opts);
    },

    /**
     * Loads many tasks and what they reference with ~N + distinct-related requests: one GET per task
     * (bounded by the client's concurrency), one per distinct entity, parent and project, and one list
     * each for task types, statuses and persons. Tasks Zou does not know are listed in `missing`.
     */
    async getTasks(ids: readonly string[], options: GetTasksOptions = {}): Promise<TaskBatch> {
      const unique = [...new Set(ids.map((id) => checkId(id, 'task')))];
      const { signal } = options;
      const found = await settleAll(
        unique,
        async (id, inner) => ({
          id,
          task: await client.getTask(id, { signal: inner }).catch(notFoundAsNull),
        }),
        signal,
      );
      const tasks: Task[] = [];
      const missing: string[] = [];
      for (const { id, task } of found) {
        if (task === null) missing.push(id);
        else tasks.push(task);
      }

      const loadEntities = async (entityIds: Set<string>) =>
        byId(
          await settleAll(
            [...entityIds],
            async (id, inner) => client.getEntity('entity', id, { signal: inner }),
            signal,
          ),
        );
      const entities = await loadEntities(new Set(tasks.map((t) => t.entity_id)));
      if (options.withParents ?? true) {
        // Shot -> sequence -> episode: a few levels at most; each level is one batch of distinct ids.
        for (let level = 0; level < 4; level += 1) {
          const parents = new Set<string>();
          for (const entity of Object.values(entities)) {
            if (entity.parent_id !== null && !(entity.parent_id in entities)) parents.add(entity.parent_id);
          }
          if (parents.size === 0) break;
          Object.assign(entities, await loadEntities(parents));
        }
      }

      const personIds = new Set<string>();
      for (const task of tasks) {
        for (const personId of task.assignees ?? []) personIds.add(personId);
        if (task.assigner_id != null) personIds.add(task.assigner_id);
      }
      const projectIds = [...new Set(tasks.map((t) => t.project_id))];
      const [projects, [taskTypes, taskStatuses, persons]] = await Promise.all([
        settleAll(projectIds, async (id, inner) => client.getProject(id, { signal: inner }), signal),
        Promise.all([
          tasks.length === 0 ? [] : client.listTaskTypes({ ...withSignal(options) }),
          tasks.length === 0 ? [] : client.listTaskStatuses({ ...withSignal(options) }),
          personIds.size === 0 ? [] : client.listPersons({ ...withSignal(options) }),
        ]),
      ]);
      const typeIds = new Set(tasks.map((t) => t.task_type_id));
      const statusIds = new Set(tasks.map((t) => t.task_status_id));
      return {
        tasks: byId(tasks),
        entities,
        projects: byId(projects),
        taskTypes: byId(taskTypes.filter((t) => typeIds.has(t.id))),
        taskStatuses: byId(taskStatuses.filter((st) => statusIds.has(st.id))),
        persons: byId(persons.filter((p) => personIds.has(p.id))),
        missing,
      };
    },

    async getProject(id: string, opts: CallOptions = {}): Promise<Project> {
      return get(`data/projects/${checkId(id, 'project')}`, Project, opts);
    },

    /** Projects the caller can see (admins: all; others: those whose team they are on). */
    async listProjects(opts: CallOptions = {}): Promise<Project[]> {
      return get('data/projects', z.array(Project), opts);
    },

    async getEntity(kind: ZouEntityKind, id: string, opts: CallOptions = {}): Promise<Entity> {
      return get(`data/${ENTITY_ROUTES[kind]}/${checkId(id, kind)}`, Entity, opts);
    },

    async listTaskTypes(opts: CallOptions = {}): Promise<TaskType[]> {
      return get('data/task-types', z.array(TaskType), opts);
    },

    async listTaskStatuses(opts: CallOptions = {}): Promise<TaskStatus[]> {
      return get('data/task-status', z.array(TaskStatus), opts);
    },

    async listPersons(opts: CallOptions = {}): Promise<Person[]> {
      return get('data/persons', z.array(Person), opts);
    },

    /** Previews of a task, newest revision first (Zou's order). */
    async getTaskPreviews(taskId: string, opts: CallOptions = {}): Promise<PreviewFile[]> {
      return get(`data/tasks/${checkId(taskId, 'task')}/previews`, z.array(PreviewFile), opts);
    },

    /**
     * Every task of a project, read page by page (`?page=1..nb_pages`; pages after the first in
     * parallel). Pages are ordered by last update, so a task updated while paging could appear twice
     * or shift: duplicates are dropped, and a count that does not match `total` is logged.
     */
    async listProjectTasks(projectId: string, filters: ListProjectTasksOptions = {}): Promise<Task[]> {
      const tasks: Task[] = [];
      await client.eachProjectTaskPage(projectId, filters, Task, (page) => {
        tasks.push(...page);
      });
      return tasks;
    },

    /**
     * The tasks of a project, handed to `visit` one page at a time as the pages arrive (the first, then
     * the others in parallel, in no fixed order), so a caller can aggregate a large production without
     * holding it. A task seen on an earlier page is left out of later ones (pages are ordered by last
     * update, so a task updated while paging can come twice). Resolves with Zou's `total` and how many
     * distinct tasks were handed over; a count that does not match `total` is logged. Each task is read
     * with `item` (`Task`, or `TaskFigures` for only what figures need).
     */
    async eachProjectTaskPage<T extends { id: string }>(
      projectId: string,
      filters: ListProjectTasksOptions,
      item: z.ZodType<T>,
      visit: (tasks: T[], progress: { received: number; total: number }) => void | Promise<void>,
    ): Promise<{ total: number; received: number }> {
      const route = `data/projects/${checkId(projectId, 'project')}/tasks`;
      const query = {
        task_type_id: filters.taskTypeId === undefined ? undefined : checkId(filters.taskTypeId, 'task type'),
        episode_id: filters.episodeId === undefined ? undefined : checkId(filters.episodeId, 'episode'),
      };
      const PagedTasks = Paged(item);
      const seen = new Set<string>();
      let total = 0;
      const take = async (page: T[]): Promise<void> => {
        const fresh = page.filter((task) => !seen.has(task.id));
        for (const task of fresh) seen.add(task.id);
        await visit(fresh, { received: seen.size, total });
      };
      const first = await get(route, PagedTasks, { ...withSignal(filters), query: { ...query, page: 1 } });
      total = first.total;
      await take(first.data);
      await settleAll(
        Array.from({ length: Math.max(0, first.nb_pages - 1) }, (_, index) => index + 2),
        async (page, signal) =>
          take((await get(route, PagedTasks, { signal, query: { ...query, page } })).data),
        filters.signal,
        filters.concurrency,
      );
      if (seen.size !== total) {
        options.logger?.warn(
          { projectId, total, received: seen.size },
          'zou project tasks changed while paging',
        );
      }
      return { total, received: seen.size };
    },

    /**
     * Every time spent on a project's tasks, in one unpaged list (Zou ignores `page` there). Clients may
     * not read it (403); vendors on the team read all of it.
     */
    async listProjectTimeSpents(projectId: string, opts: CallOptions = {}): Promise<TimeSpent[]> {
      return get(`data/projects/${checkId(projectId, 'project')}/time-spents`, z.array(TimeSpent), opts);
    },

    /** The time spents of one task, every person's (Zou answers them grouped by person, with a total). */
    async listTaskTimeSpents(taskId: string, opts: CallOptions = {}): Promise<TimeSpent[]> {
      return get(`actions/tasks/${checkId(taskId, 'task')}/time-spents`, TaskTimeSpents, opts);
    },

    /** Comments a task; pass the task's current status id to comment without changing it. */
    async commentTask(taskId: string, input: CommentInput, opts: CallOptions = {}): Promise<Comment> {
      return http.request({
        method: 'POST',
        route: `actions/tasks/${checkId(taskId, 'task')}/comment`,
        body: CommentInput.parse(input),
        schema: Comment,
        ...withSignal(opts),
      });
    },

    /**
     * Comments many tasks of one project in few requests. Zou silently skips comments the caller may
     * not post: compare the returned comments' `object_id`s with the input to find them.
     */
    async commentMany(
      projectId: string,
      items: readonly CommentManyItem[],
      options: CommentManyOptions = {},
    ): Promise<Comment[]> {
      const route = `actions/projects/${checkId(projectId, 'project')}/tasks/comment-many`;
      const body = items.map((item) => {
        checkId(item.object_id, 'task');
        checkId(item.task_status_id, 'task status');
        return CommentManyItem.parse(item);
      });
      const size = options.chunkSize ?? 100;
      const out: Comment[] = [];
      // Sequential chunks: one comment-many is already heavy on Zou's side.
      for (let start = 0; start < body.length; start += size) {
        const chunk = body.slice(start, start + size);
        const comments = await http.request({
          method: 'POST',
          route,
          body: chunk,
          schema: z.array(Comment),
          ...withSignal(options),
        });
        out.push(...comments);
      }
      return out;
    },

    async listCustomActions(opts: CallOptions = {}): Promise<CustomAction[]> {
      return get('data/custom-actions', z.array(CustomAction), opts);
    },

    /** Admin only. `url` is at most 400 characters (Zou's column). */
    async createCustomAction(input: CustomActionInput, opts: CallOptions = {}): Promise<CustomAction> {
      return http.request({
        method: 'POST',
        route: 'data/custom-actions',
        body: CustomActionInput.parse(input),
        schema: CustomAction,
        ...withSignal(opts),
      });
    },

    async updateCustomAction(
      id: string,
      patch: CustomActionUpdate,
      opts: CallOptions = {},
    ): Promise<CustomAction> {
      return http.request({
        method: 'PUT',
        route: `data/custom-actions/${checkId(id, 'custom action')}`,
        body: CustomActionUpdate.parse(patch),
        schema: CustomAction,
        ...withSignal(opts),
      });
    },

    async deleteCustomAction(id: string, opts: CallOptions = {}): Promise<void> {
      await http.request({
        method: 'DELETE',
        route: `data/custom-actions/${checkId(id, 'custom action')}`,
        schema: null,
        ...withSignal(opts),
      });
    },

    /** Playlists of a project, optionally only those whose name matches (case-insensitively). */
    async listPlaylists(
      projectId: string,
      filters: CallOptions & { name?: string } = {},
    ): Promise<Playlist[]> {
      const all = await get('data/playlists', z.array(Playlist), {
        ...withSignal(filters),
        query: { project_id: checkId(projectId, 'project') },
      });
      const name = filters.name?.toLowerCase();
      return name === undefined ? all : all.filter((p) => p.name.toLowerCase() === name);
    },

    async createPlaylist(input: PlaylistInput, options: CreatePlaylistOptions = {}): Promise<Playlist> {
      const body = PlaylistInput.parse(input);
      checkId(body.project_id, 'project');
      if (body.episode_id != null) checkId(body.episode_id, 'episode');
      if (body.task_type_id != null) checkId(body.task_type_id, 'task type');
      if (body.episode_id == null && options.allowDuplicateName !== true) {
        const same = await client.listPlaylists(body.project_id, { ...withSignal(options), name: body.name });
        const existing = same.find((p) => p.episode_id === null);
        if (existing !== undefined) throw new ZouPlaylistExistsError(existing);
      }
      return http.request({
        method: 'POST',
        route: 'data/playlists',
        body,
        schema: Playlist,
        ...withSignal(options),
      });
    },

    /** E.g. `{ shots: [{ entity_id, preview_file_id }] }` to set the playlist's content. */
    async updatePlaylist(id: string, patch: PlaylistUpdate, opts: CallOptions = {}): Promise<Playlist> {
      return http.request({
        method: 'PUT',
        route: `data/playlists/${checkId(id, 'playlist')}`,
        body: PlaylistUpdate.parse(patch),
        schema: Playlist,
        ...withSignal(opts),
      });
    },
  };
  return client;
}

function notFoundAsNull(error: unknown): null {
  if (error instanceof ZouError && error.status === 404) return null;
  throw error;
}

function withSignal(opts: CallOptions): { signal?: AbortSignal } {
  return opts.signal === undefined ? {} : { signal: opts.signal };
}

/**
 * Runs `work` for every item (the client's semaphore bounds how many run at once) and returns the
 * results in order. The first failure aborts the others, which are then awaited, so nothing is left
 * running unobserved; that first failure is thrown.
 */
async function settleAll<T, R>(
  items: readonly T[],
  work: (item: T, signal: AbortSignal) => Promise<R>,
  outer?: AbortSignal,
  /** At most this many `work` calls at once (beyond the client's own limit). */
  limit = Number.POSITIVE_INFINITY,
): Promise<R[]> {
  const controller = new AbortController();
  const forward = () => {
    controller.abort(outer?.reason);
  };
  if (outer?.aborted === true) forward();
  outer?.addEventListener('abort', forward, { once: true });
  let failure: { error: unknown } | null = null;
  try {
    const run = async (item: T): Promise<R> => {
      try {
        return await work(item, controller.signal);
      } catch (error) {
        if (failure === null) {
          failure = { error };
          controller.abort(error);
        }
        throw error;
      }
    };
    // Lanes that each take the next item: never more than `limit` calls at once.
    const results: PromiseSettledResult<R>[] = [];
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < items.length && failure === null) {
        const index = next;
        next += 1;
        results[index] = await run(items[index] as T).then(
          (value): PromiseFulfilledResult<R> => ({ status: 'fulfilled', value }),
          (reason: unknown): PromiseRejectedResult => ({ status: 'rejected', reason }),
        );
      }
    };
    await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
    const settled = results;
    if (failure !== null) throw (failure as { error: unknown }).error;
    return settled.map((result) => {
      if (result.status === 'rejected') throw result.reason as Error;
      return result.value;
    });
  } finally {
    outer?.removeEventListener('abort', forward);
  }
}
