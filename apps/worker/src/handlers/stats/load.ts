import { UnrecoverableError } from 'bullmq';
import type { KindOptions, Logger, VerifiedRequest } from '@kitsu-actions/shared';
import { TaskFigures, ZouError, type Entity, type Task, type ZouClient } from '@kitsu-actions/zou';
import { StatsAggregator, type StatsLookups, type StatsReport } from './aggregate.ts';

/** Pages of tasks read at once; the client's own limit (ZOU_CONCURRENCY) still applies. */
export const pageConcurrency = 4;
/** Selections up to this size are read task by task; larger ones by paging their production. */
export const taskByTaskLimit = 100;
/** At most one progress write a second while paging (a large production has a thousand pages). */
const progressEveryMs = 1000;

export interface LoadContext {
  zou: ZouClient;
  request: VerifiedRequest;
  options: KindOptions<'stats'>;
  asOf: Date;
  signal: AbortSignal;
  log: Logger;
  progress: (percent: number, message: string) => Promise<void>;
}

const uuid = '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}';
const episodePath = new RegExp(`/productions/(${uuid})/episodes/(${uuid})(?:/|$)`);

/** The episode of the Kitsu page an action ran from (`/productions/<id>/episodes/<id>/…`). */
export function episodeOfPath(path: string | undefined): string | undefined {
  return path === undefined ? undefined : episodePath.exec(path)?.[2]?.toLowerCase();
}

/** A Kitsu answer that another attempt would get again (a refusal, an unknown id) ends the job. */
function finalUnlessTransient(error: unknown): unknown {
  if (error instanceof ZouError && error.status !== null && error.status >= 400 && error.status < 500) {
    return new UnrecoverableError(error.message);
  }
  return error;
}

async function lookups(zou: ZouClient, signal: AbortSignal): Promise<StatsLookups> {
  const [types, statuses, persons] = await Promise.all([
    zou.listTaskTypes({ signal }),
    zou.listTaskStatuses({ signal }),
    zou.listPersons({ signal }),
  ]);
  return {
    taskTypes: new Map(types.map((type) => [type.id, { name: type.name, priority: type.priority }])),
    statuses: new Map(
      statuses.map((status) => [status.id, { name: status.name, done: status.is_done === true }]),
    ),
    persons: new Map(
      persons.map((person) => [
        person.id,
        {
          name: person.full_name ?? `${person.first_name} ${person.last_name}`.trim(),
          active: person.active !== false,
        },
      ]),
    ),
  };
}

/** Each entity's name with its parents ("E01 / SQ010 / SH010"); an entity that cannot be read keeps its id. */
async function entityNames(
  zou: ZouClient,
  ids: readonly string[],
  signal: AbortSignal,
): Promise<Map<string, string>> {
  const known = new Map<string, Promise<Entity | undefined>>();
  const read = (id: string): Promise<Entity | undefined> => {
    let entity = known.get(id);
    if (entity === undefined) {
      entity = zou.getEntity('entity', id, { signal }).catch((error: unknown) => {
        if (signal.aborted) throw error;
        return undefined;
      });
      known.set(id, entity);
    }
    return entity;
  };
  const names = new Map<string, string>();
  await Promise.all(
    ids.map(async (id) => {
      const chain: string[] = [];
      for (let next: string | null = id; next !== null && chain.length < 3;) {
        const entity: Entity | undefined = await read(next);
        if (entity === undefined) break;
        chain.unshift(entity.name);
        next = entity.parent_id;
      }
      if (chain.length > 0) names.set(id, chain.join(' / '));
    }),
  );
  return names;
}

/**
 * Reads the scope's tasks from Kitsu page by page into a StatsAggregator, then the time sheets and the
 * names of the listed tasks' entities, and returns the report. Nothing is kept between attempts: a retry
 * starts again from the first page.
 */
export async function loadStats(context: LoadContext): Promise<StatsReport> {
  const { zou, request, options, asOf, signal, log } = context;
  const projectId = request.projectId ?? request.projectIds?.[0];
  if (projectId === undefined) {
    throw new UnrecoverableError(
      'The request names no production: run the statistics action from a production page in Kitsu.',
    );
  }
  const episodeId = options.scope === 'episode' ? episodeOfPath(request.origin.path) : undefined;
  if (options.scope === 'episode' && episodeId === undefined) {
    throw new UnrecoverableError(
      `This action reports on the episode of the page it runs from, and ${request.origin.path === undefined ? 'Kitsu sent no page' : `the page ${request.origin.path} is not an episode's`}: run it from an episode's page in Kitsu.`,
    );
  }
  try {
    await context.progress(2, 'Reading the production from Kitsu');
    const [project, named, episode] = await Promise.all([
      zou.getProject(projectId, { signal }),
      lookups(zou, signal),
      episodeId === undefined ? undefined : zou.getEntity('episode', episodeId, { signal }),
    ]);
    const aggregator = new StatsAggregator(named, { ...options, asOf });
    let reported = Date.now();
    const tell = async (loaded: number, total: number, force = false): Promise<void> => {
      if (!force && Date.now() - reported < progressEveryMs) return;
      reported = Date.now();
      const percent = total === 0 ? 90 : 5 + Math.floor((85 * loaded) / total);
      await context.progress(
        percent,
        `Loaded ${loaded.toLocaleString('en')} of ${total.toLocaleString('en')} tasks`,
      );
    };

    if (options.scope === 'selection' && request.taskIds.length <= taskByTaskLimit) {
      const tasks: Task[] = [];
      await Promise.all(request.taskIds.map(async (id) => tasks.push(await zou.getTask(id, { signal }))));
      // A task of another production (Kitsu checks the selection, but a task may have moved) is left out.
      aggregator.add(tasks.filter((task) => task.project_id === projectId));
      await tell(aggregator.count, request.taskIds.length, true);
    } else {
      const selected =
        options.scope === 'selection' ? new Set(request.taskIds.map((id) => id.toLowerCase())) : undefined;
      const { total, received } = await zou.eachProjectTaskPage(
        projectId,
        { signal, concurrency: pageConcurrency, ...(episodeId === undefined ? {} : { episodeId }) },
        TaskFigures,
        async (page, seen) => {
          aggregator.add(
            selected === undefined ? page : page.filter((task) => selected.has(task.id.toLowerCase())),
          );
          await tell(seen.received, seen.total);
        },
      );
      await tell(received, total, true);
    }

    await context.progress(92, 'Reading the time sheets');
    aggregator.addTimeSpents(await zou.listProjectTimeSpents(projectId, { signal }));
    await context.progress(96, 'Naming the listed tasks');
    const names = await entityNames(zou, aggregator.listedEntityIds(), signal);
    log.info({ projectId, scope: options.scope, tasks: aggregator.count }, 'stats aggregated');
    return aggregator.report(
      {
        kind: options.scope,
        projectId,
        project: project.name,
        ...(episode === undefined ? {} : { episodeId: episode.id, episode: episode.name }),
      },
      names,
    );
  } catch (error) {
    if (signal.aborted) throw error;
    throw finalUnlessTransient(error);
  }
}
