import {
  manifestOf,
  preview,
  type JobData,
  type Logger,
  type ReportOutcome,
  type ReportSettings,
} from '@kitsu-actions/shared';
import {
  ZouError,
  type CommentManyItem,
  type Task,
  type TaskStatus,
  type ZouClient,
} from '@kitsu-actions/zou';

export type JobEnd =
  | { state: 'completed'; result: unknown }
  | { state: 'failed'; reason: string }
  | { state: 'cancelled'; reason: string };

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The comment's text: the outcome in one line, then the status page (Kitsu turns URLs into links). */
export function commentText(data: JobData, end: JobEnd, statusUrl: string): string {
  const name = data.action.name;
  if (end.state === 'cancelled') {
    // "Cancelled by marc@studio" reads "was cancelled by marc@studio": who, and nothing about failing.
    const how = `${end.reason.charAt(0).toLowerCase()}${end.reason.slice(1)}`;
    return `kitsu-actions: "${name}" was ${preview(how, 300)}.\n\nDetails: ${statusUrl}`;
  }
  if (end.state === 'failed') {
    return `kitsu-actions: "${name}" failed: ${preview(end.reason, 300)}\n\nDetails: ${statusUrl}`;
  }
  const manifest = manifestOf(data.action.kind);
  const result = manifest.result.safeParse(end.result);
  const what = result.success ? manifest.describe.comment(result.data) : 'done';
  return `kitsu-actions: "${name}" completed (${preview(what, 300)}).\n\nStatus and result: ${statusUrl}`;
}

/** Each task as Zou has it now: its project (to group the comments) and status (to keep it). */
async function readTasks(
  zou: ZouClient,
  ids: readonly string[],
): Promise<{ tasks: Task[]; missing: string[] }> {
  const found = await Promise.all(
    ids.map(async (id) => {
      try {
        return await zou.getTask(id);
      } catch (error) {
        if (error instanceof ZouError && error.status === 404) return id;
        throw error;
      }
    }),
  );
  return {
    tasks: found.filter((item): item is Task => typeof item !== 'string'),
    missing: found.filter((item): item is string => typeof item === 'string'),
  };
}

function statusByShortName(statuses: readonly TaskStatus[], shortName: string): TaskStatus | undefined {
  const wanted = shortName.toLowerCase();
  return statuses.find((status) => status.short_name.toLowerCase() === wanted);
}

/**
 * Comments on the job's tasks in Kitsu: one comment-many call per project, optionally changing their
 * status. Returns what happened; never throws, since a job's outcome does not depend on its report.
 */
export async function reportInKitsu(options: {
  zou: ZouClient | undefined;
  settings: ReportSettings;
  data: JobData;
  end: JobEnd;
  statusUrl: string;
  log: Logger;
  now?: () => Date;
}): Promise<ReportOutcome> {
  const { zou, settings, data, end, log } = options;
  const at = (options.now ?? (() => new Date()))().toISOString();
  const outcome = (state: ReportOutcome['state'], message: string, commented = 0): ReportOutcome => ({
    state,
    message,
    commented,
    at,
  });
  if (!settings.comment) return outcome('skipped', 'The action does not comment in Kitsu.');
  if (zou === undefined) {
    log.warn('report: no Kitsu configured for the worker (KITSU_URL, KITSU_BOT_TOKEN); no comment posted');
    return outcome(
      'failed',
      'No comment was posted: the worker has no Kitsu configured (KITSU_URL, KITSU_BOT_TOKEN).',
    );
  }
  try {
    const { tasks, missing } = await readTasks(zou, data.request.taskIds);
    const wanted = {
      completed: settings.statusOnSuccess,
      failed: settings.statusOnFailure,
      cancelled: settings.statusOnCancel,
    }[end.state];
    const notes: string[] = [];
    let status: TaskStatus | undefined;
    if (wanted !== undefined) {
      status = statusByShortName(await zou.listTaskStatuses(), wanted);
      if (status === undefined)
        notes.push(`Kitsu has no task status "${wanted}", so statuses were left as they were`);
    }
    const text = commentText(data, end, options.statusUrl);
    const byProject = new Map<string, CommentManyItem[]>();
    for (const task of tasks) {
      const items = byProject.get(task.project_id) ?? [];
      items.push({ object_id: task.id, task_status_id: status?.id ?? task.task_status_id, comment: text });
      byProject.set(task.project_id, items);
    }
    let commented = 0;
    const refused: string[] = [];
    for (const [projectId, items] of byProject) {
      try {
        // One call per project, whatever the selection's size (the client would otherwise split by 100).
        const comments = await zou.commentMany(projectId, items, { chunkSize: Math.max(items.length, 1) });
        const posted = new Set(comments.map((comment) => comment.object_id));
        commented += items.filter((item) => posted.has(item.object_id)).length;
        refused.push(...items.filter((item) => !posted.has(item.object_id)).map((item) => item.object_id));
      } catch (error) {
        // The other projects still get their comments.
        notes.push(
          `Commenting on the ${items.length} task(s) of project ${projectId} failed: ${messageOf(error)}`,
        );
      }
    }
    if (missing.length > 0)
      notes.push(`Kitsu has no task ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ' …' : ''}`);
    if (refused.length > 0) {
      notes.push(`Kitsu did not let the bot comment on ${refused.length} task(s), e.g. ${refused[0] ?? ''}`);
    }
    const total = data.request.taskIds.length;
    const summary = `Commented on ${commented} of ${total} task(s) in Kitsu${status === undefined ? '' : `, status set to ${status.short_name}`}.`;
    const state =
      commented === total && notes.length === 0 ? 'posted' : commented === 0 ? 'failed' : 'partial';
    if (state !== 'posted') log.warn({ commented, total, notes }, 'report: not every task was commented');
    else log.info({ commented, projects: byProject.size }, 'report: tasks commented in Kitsu');
    return outcome(state, [summary, ...notes].join(' '), commented);
  } catch (error) {
    log.warn({ err: error }, 'report: commenting in Kitsu failed');
    return outcome('failed', `No comment was posted in Kitsu: ${messageOf(error)}`);
  }
}
