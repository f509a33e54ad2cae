import { UnrecoverableError } from 'bullmq';
import {
  TemplateValueError,
  type JobData,
  type VerifiedRequest,
  type RenderEntityType,
  type TemplateValues,
} from '@kitsu-actions/shared';
import type { Entity, Project, Task, TaskBatch, TaskType, ZouClient } from '@kitsu-actions/zou';

/** One selected task to render: what Kitsu knows of it, and the values its templates are filled with. */
export interface ShotPlan {
  task: Task;
  entity: Entity;
  project: Project;
  /** `SQ010 / SH010` (with the episode when there is one), for messages and comments. */
  label: string;
  frameIn: number;
  frameOut: number;
  fps: number | undefined;
  values: TemplateValues;
}

/** A number Kitsu may keep as a number or as a string ("25", "23.976"). */
function numberOf(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(value)) return Number(value);
  return undefined;
}

function kindOf(entity: Entity, taskType: TaskType | undefined): string {
  return (entity.type ?? taskType?.for_entity ?? 'entity').toLowerCase();
}

/** The shot's sequence and episode (or a sequence's episode), walking up the parents Kitsu sent. */
function parentsOf(
  batch: TaskBatch,
  entity: Entity,
  kind: string,
): { sequence: Entity | undefined; episode: Entity | undefined } {
  const parent = entity.parent_id === null ? undefined : batch.entities[entity.parent_id];
  if (kind === 'sequence') return { sequence: entity, episode: parent };
  if (kind === 'episode') return { sequence: undefined, episode: entity };
  if (kind !== 'shot') return { sequence: undefined, episode: undefined };
  const grandParent = parent?.parent_id == null ? undefined : batch.entities[parent.parent_id];
  return { sequence: parent, episode: grandParent };
}

/** Frames from the shot's `data.frame_in`/`frame_out`, else 1..`nb_frames`. */
function framesOf(entity: Entity): { frameIn: number; frameOut: number } | undefined {
  const frameIn = numberOf(entity.data?.['frame_in']);
  const frameOut = numberOf(entity.data?.['frame_out']);
  if (
    frameIn !== undefined &&
    frameOut !== undefined &&
    Number.isInteger(frameIn) &&
    Number.isInteger(frameOut) &&
    frameIn <= frameOut
  ) {
    return { frameIn, frameOut };
  }
  if (entity.nb_frames !== null && entity.nb_frames > 0) return { frameIn: 1, frameOut: entity.nb_frames };
  return undefined;
}

function positive(value: number | undefined): number | undefined {
  return value !== undefined && value > 0 ? value : undefined;
}

const plural = (count: number, word: string): string => `${count} ${word}${count === 1 ? '' : 's'}`;

/** One selected task as Kitsu places it: its entity, production and parents, and its template values. */
export interface TaskPlace {
  task: Task;
  entity: Entity;
  project: Project;
  /** `shot`, `asset`, `sequence`, … (the entity's type, lower case). */
  kind: string;
  /** `SQ010 / SH010` (with the episode when there is one), for messages and comments. */
  label: string;
  /** The label with the task type, `SQ010 / SH010 (Lighting)`, for messages naming tasks. */
  what: string;
  /** The shot's frame range, when Kitsu has one. */
  frames: { frameIn: number; frameOut: number } | undefined;
  fps: number | undefined;
  /** The template values; the frame fields only with a frame range. */
  values: TemplateValues;
}

/** Where a selected task sits in Kitsu, from a batch that holds it (undefined when it does not). */
export function placeOf(
  batch: TaskBatch,
  taskId: string,
  options: { request: VerifiedRequest; jobId: string; actionId: string },
): TaskPlace | undefined {
  const { request } = options;
  const task = batch.tasks[taskId];
  if (task === undefined) return undefined;
  const entity = batch.entities[task.entity_id];
  const project = batch.projects[task.project_id];
  if (entity === undefined || project === undefined) {
    throw new Error(`Kitsu did not return the entity or project of task ${taskId}`);
  }
  const taskType = batch.taskTypes[task.task_type_id];
  const kind = kindOf(entity, taskType);
  const { sequence, episode } = parentsOf(batch, entity, kind);
  const label = [episode?.name, kind === 'sequence' ? undefined : sequence?.name, entity.name]
    .filter((name): name is string => name !== undefined)
    .join(' / ');
  const frames = framesOf(entity);
  const fps = positive(numberOf(entity.data?.['fps'])) ?? positive(numberOf(project.fps));
  const values: TemplateValues = {
    'project.id': project.id,
    'project.name': project.name,
    ...(project.code ? { 'project.code': project.code } : {}),
    ...(episode ? { 'episode.id': episode.id, 'episode.name': episode.name } : {}),
    ...(sequence ? { 'sequence.id': sequence.id, 'sequence.name': sequence.name } : {}),
    ...(kind === 'shot' ? { 'shot.id': entity.id, 'shot.name': entity.name } : {}),
    'entity.id': entity.id,
    'entity.name': entity.name,
    'entity.type': kind,
    'task.id': task.id,
    'task.name': task.name,
    ...(taskType ? { 'taskType.name': taskType.name } : {}),
    ...(taskType?.short_name ? { 'taskType.shortName': taskType.short_name } : {}),
    ...(frames === undefined
      ? {}
      : {
          frames: `${frames.frameIn}-${frames.frameOut}`,
          frameIn: frames.frameIn,
          frameOut: frames.frameOut,
          nbFrames: frames.frameOut - frames.frameIn + 1,
        }),
    ...(fps === undefined ? {} : { fps }),
    jobId: options.jobId,
    'person.id': request.personId,
    ...(request.personEmail ? { 'person.email': request.personEmail } : {}),
    'action.id': options.actionId,
  };
  return {
    task,
    entity,
    project,
    kind,
    label,
    what: `${label} (${taskType?.name ?? 'task'})`,
    frames,
    fps,
    values,
  };
}

/** The tasks Kitsu does not have, as the one error that names them; nothing is done for such a selection. */
export function checkNoneMissing(batch: TaskBatch, what: string): void {
  if (batch.missing.length > 0) {
    throw new UnrecoverableError(
      `Kitsu has no task ${batch.missing.slice(0, 5).join(', ')}${batch.missing.length > 5 ? ' …' : ''}; ${what}`,
    );
  }
}

/**
 * The selected tasks read from Kitsu and placed, in the request's order, for the kinds that hand them on
 * (launch, webhook, script); tasks of an entity type `allowEntityTypes` leaves out are listed apart, by
 * type. A task Kitsu does not have fails the job (`nothingDone` says what was not done).
 */
export async function readSelection(options: {
  zou: ZouClient;
  data: JobData;
  jobId: string;
  signal: AbortSignal;
  nothingDone: string;
  allowEntityTypes?: readonly string[] | undefined;
}): Promise<{ places: TaskPlace[]; refused: Map<string, string[]> }> {
  const { data, allowEntityTypes } = options;
  const batch = await options.zou.getTasks(data.request.taskIds, { signal: options.signal });
  checkNoneMissing(batch, options.nothingDone);
  const places: TaskPlace[] = [];
  const refused = new Map<string, string[]>();
  for (const taskId of data.request.taskIds) {
    const place = placeOf(batch, taskId, {
      request: data.request,
      jobId: options.jobId,
      actionId: data.action.id,
    });
    if (place === undefined) continue;
    if (allowEntityTypes !== undefined && !allowEntityTypes.includes(place.kind)) {
      refused.set(place.kind, [...(refused.get(place.kind) ?? []), place.what]);
    } else places.push(place);
  }
  return { places, refused };
}

/** What a kind hands on of one placed task: its id, its label and its template values. */
export function handedOn(place: TaskPlace): { taskId: string; label: string; values: TemplateValues } {
  return { taskId: place.task.id, label: place.label, values: place.values };
}

/** "2 shot tasks selected (…), but "<action>" <does> shot tasks only (the action's allowEntityTypes)". */
export function refusedKinds(
  refused: ReadonlyMap<string, string[]>,
  actionName: string,
  does: string,
  allowEntityTypes: readonly string[],
): string[] {
  return [...refused].map(
    ([kind, tasks]) =>
      `${plural(tasks.length, `${kind} task`)} selected (${tasks.slice(0, 3).join(', ')}${tasks.length > 3 ? ' …' : ''}), but "${actionName}" ${does} ${allowEntityTypes.join(', ')} tasks only (the action's allowEntityTypes)`,
  );
}

/**
 * The selection as shots to render, in the order of the request. Throws an UnrecoverableError naming
 * every task that cannot be rendered (not of an allowed entity type, no frame range): nothing is
 * submitted for a selection with such a task.
 */
export function planShots(options: {
  batch: TaskBatch;
  request: VerifiedRequest;
  jobId: string;
  actionId: string;
  actionName: string;
  allowEntityTypes: readonly RenderEntityType[];
}): ShotPlan[] {
  const { batch, request } = options;
  checkNoneMissing(batch, 'nothing was submitted.');
  const refused = new Map<string, string[]>();
  const noFrames: string[] = [];
  const plans: ShotPlan[] = [];
  for (const taskId of request.taskIds) {
    const place = placeOf(batch, taskId, options);
    if (place === undefined) continue;
    const { task, entity, project, kind, label, what, frames, fps, values } = place;
    if (!(options.allowEntityTypes as readonly string[]).includes(kind)) {
      refused.set(kind, [...(refused.get(kind) ?? []), what]);
      continue;
    }
    if (frames === undefined) {
      noFrames.push(what);
      continue;
    }
    plans.push({ task, entity, project, label, ...frames, fps, values });
  }
  const problems = refusedKinds(refused, options.actionName, 'renders', options.allowEntityTypes);
  if (noFrames.length > 0) {
    problems.push(
      `no frame range in Kitsu for ${noFrames.slice(0, 3).join(', ')}${noFrames.length > 3 ? ' …' : ''} (set the shot's frame in/out or its number of frames)`,
    );
  }
  if (problems.length > 0) throw new UnrecoverableError(`Nothing was submitted: ${problems.join('; ')}.`);
  if (plans.length === 0) throw new UnrecoverableError('Nothing to render: the selection has no task.');
  return plans;
}

/** Builds every farm job before any is submitted, so a template that cannot be filled submits nothing. */
export function buildAll<J>(
  plans: readonly ShotPlan[],
  build: (plan: ShotPlan) => J,
): { plan: ShotPlan; farmJob: J }[] {
  return plans.map((plan) => {
    try {
      return { plan, farmJob: build(plan) };
    } catch (error) {
      if (error instanceof TemplateValueError) {
        throw new UnrecoverableError(
          `Nothing was submitted: ${plan.label}: ${error.message} (Kitsu has no ${error.field} for it).`,
        );
      }
      throw error;
    }
  });
}
