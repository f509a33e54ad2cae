import { html, type VerifiedRequest, type Logger, type SafeHtml } from '@kitsu-actions/shared';
import type { Entity, PreviewFile, TaskBatch, ZouClient } from '@kitsu-actions/zou';
import { renderValue, section, type Section } from './render.ts';

/** Tasks shown field by field; past this the page lists the rest by id (a page is not a database dump). */
export const detailedTaskLimit = 200;

/** Previews are one request per task: read for the detailed tasks only. */
async function latestPreviews(
  zou: ZouClient,
  batch: TaskBatch,
  taskIds: readonly string[],
  signal: AbortSignal,
): Promise<Map<string, PreviewFile | Error>> {
  const withPreview = taskIds.filter((id) => batch.tasks[id]?.last_preview_file_id != null);
  const out = new Map<string, PreviewFile | Error>();
  await Promise.all(
    withPreview.map(async (id) => {
      try {
        const latest = (await zou.getTaskPreviews(id, { signal }))[0];
        if (latest !== undefined) out.set(id, latest);
      } catch (error) {
        if (signal.aborted) throw error;
        // One preview that cannot be read is shown as such; the rest of the page still renders.
        out.set(id, error instanceof Error ? error : new Error(String(error)));
      }
    }),
  );
  return out;
}

/** The entity and its parents, nearest first (shot, sequence, episode). */
function lineage(batch: TaskBatch, entityId: string): Entity[] {
  const out: Entity[] = [];
  for (let id: string | null = entityId; id !== null && out.length < 6;) {
    const entity: Entity | undefined = batch.entities[id];
    if (entity === undefined) break;
    out.push(entity);
    id = entity.parent_id;
  }
  return out;
}

function entityKind(entity: Entity): string {
  return entity.type ?? 'Entity';
}

function fields(value: object): SafeHtml {
  return renderValue(value);
}

function taskSection(
  batch: TaskBatch,
  taskId: string,
  preview: PreviewFile | Error | undefined,
): Section | undefined {
  const task = batch.tasks[taskId];
  if (task === undefined) return undefined;
  const chain = lineage(batch, task.entity_id);
  const path = [...chain]
    .reverse()
    .map((entity) => entity.name)
    .join(' / ');
  const type = batch.taskTypes[task.task_type_id];
  const status = batch.taskStatuses[task.task_status_id];
  const assignees = (task.assignees ?? []).map((id) => batch.persons[id] ?? { id, note: 'not readable' });
  const title = `Task: ${type?.name ?? task.task_type_id} on ${path || task.entity_id}`;
  return section(
    title,
    html`<h3>Task <code>${task.id}</code></h3>
      ${fields(task)}
      ${chain.map(
        (entity) =>
          html`<h3>${entityKind(entity)} <code>${entity.name}</code></h3>
            ${fields(entity)}`,
      )}
      <h3>Task type</h3>
      ${type === undefined ? html`<p class="muted">not readable</p>` : fields(type)}
      <h3>Task status</h3>
      ${status === undefined ? html`<p class="muted">not readable</p>` : fields(status)}
      <h3>Assignees</h3>
      ${assignees.length === 0 ? html`<p class="muted">nobody</p>` : renderValue(assignees)}
      <h3>Latest preview</h3>
      ${
        preview === undefined
          ? html`<p class="muted">none</p>`
          : preview instanceof Error
            ? html`<p class="error">could not be read: ${preview.message}</p>`
            : fields(preview)
      }`,
  );
}

/**
 * Sections with what Kitsu knows about the selection: its projects, then each task with its entity (and
 * parent sequence/episode), type, status, assignees and latest preview, every field by name. Kitsu
 * failing is shown as a section of its own, never thrown: the rest of the page is still worth having.
 */
export async function kitsuSections(
  zou: ZouClient,
  request: VerifiedRequest,
  options: { signal: AbortSignal; log: Logger },
): Promise<Section[]> {
  const { signal, log } = options;
  let batch: TaskBatch;
  let previews: Map<string, PreviewFile | Error>;
  const detailed = request.taskIds.slice(0, detailedTaskLimit);
  try {
    batch = await zou.getTasks(request.taskIds, { signal });
    previews = await latestPreviews(zou, batch, detailed, signal);
  } catch (error) {
    if (signal.aborted) throw error;
    const message = error instanceof Error ? error.message : String(error);
    log.warn({ err: error }, 'Kitsu data could not be read for the debug page');
    return [
      section(
        'Kitsu data: not available',
        html`<p class="error">Kitsu could not be read: ${message}</p>
          <p class="muted">Kitsu at <code>${zou.baseUrl}</code>; the request itself is shown below.</p>`,
      ),
    ];
  }
  const sections: Section[] = [];
  if (batch.missing.length > 0) {
    sections.push(
      section(
        'Kitsu data: unknown tasks',
        html`<p class="error">Kitsu has no task with these ids:</p>
          ${renderValue(batch.missing)}`,
      ),
    );
  }
  for (const project of Object.values(batch.projects)) {
    sections.push(section(`Project: ${project.name}`, fields(project)));
  }
  for (const id of detailed) {
    const rendered = taskSection(batch, id, previews.get(id));
    if (rendered !== undefined) sections.push(rendered);
  }
  const rest = request.taskIds.slice(detailedTaskLimit);
  if (rest.length > 0) {
    sections.push(
      section(
        `Kitsu data: ${rest.length} more tasks`,
        html`<p class="muted">Only the first ${detailedTaskLimit} tasks are shown field by field.</p>
          ${renderValue(rest)}`,
      ),
    );
  }
  return sections;
}
