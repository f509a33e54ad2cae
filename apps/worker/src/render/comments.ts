import type { JobData, Logger } from '@kitsu-actions/shared';
import type { CommentManyItem, ZouClient } from '@kitsu-actions/zou';
import type { FarmJobRef } from '../farms/index.ts';
import type { ShotPlan } from './plan.ts';

/**
 * Comments on each shot's task that its farm job is submitted, with the farm's link: one comment-many
 * call per project. The job's outcome never depends on it; a failure is logged.
 */
export async function commentSubmitted(options: {
  zou: ZouClient;
  data: JobData;
  shots: readonly { plan: ShotPlan; ref: FarmJobRef | undefined }[];
  farmName: string;
  jobUrl: string;
  log: Logger;
}): Promise<void> {
  const { zou, data, log } = options;
  const byProject = new Map<string, CommentManyItem[]>();
  for (const { plan, ref } of options.shots) {
    const where = ref?.url ?? `job ${ref?.farmJobId ?? '?'}`;
    const comment = `kitsu-actions: "${data.action.name}" submitted ${plan.label} (frames ${plan.frameIn}-${plan.frameOut}) to ${options.farmName}: ${where}\n\nStatus: ${options.jobUrl}`;
    const items = byProject.get(plan.task.project_id) ?? [];
    items.push({ object_id: plan.task.id, task_status_id: plan.task.task_status_id, comment });
    byProject.set(plan.task.project_id, items);
  }
  for (const [projectId, items] of byProject) {
    try {
      await zou.commentMany(projectId, items, { chunkSize: Math.max(items.length, 1) });
    } catch (error) {
      log.warn({ err: error, projectId }, 'submission comments not posted in Kitsu');
    }
  }
}
