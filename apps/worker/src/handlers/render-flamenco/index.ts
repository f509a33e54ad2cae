import {
  farmNames,
  renderTemplate,
  renderTemplateText,
  type FlamencoRenderOptions,
} from '@kitsu-actions/shared';
import { farmJobFields, type FlamencoSubmittedJob } from '../../farms/index.ts';
import type { ShotPlan } from '../../render/plan.ts';
import { runRender } from '../../render/run.ts';
import type { Handler } from '../types.ts';

/** Metadata linking the Flamenco job to Kitsu and to our job (Flamenco takes string values only). */
function metadataOf(plan: ShotPlan, jobId: string, actionId: string): Record<string, string> {
  return {
    kitsu_task_id: plan.task.id,
    kitsu_project_id: plan.project.id,
    kitsu_project: plan.project.name,
    kitsu_entity_id: plan.entity.id,
    kitsu_entity: plan.label,
    [farmJobFields.bullJobId]: jobId,
    kitsu_actions_action: actionId,
  };
}

/** The SubmittedJob of one shot: the options' templates filled with the shot's values. */
export function flamencoJobOf(
  options: FlamencoRenderOptions,
  plan: ShotPlan,
  ids: { jobId: string; actionId: string },
): FlamencoSubmittedJob {
  const settings: FlamencoSubmittedJob['settings'] = {};
  if (options.jobType === 'simple-blender-render') {
    // The shot's own range and rate unless the action sets them; Flamenco's default chunk of 1 frame.
    settings['frames'] = `${plan.frameIn}-${plan.frameOut}`;
    if (plan.fps !== undefined) settings['fps'] = plan.fps;
    settings['chunk_size'] = 1;
  }
  for (const [name, value] of Object.entries(options.settings)) {
    settings[name] = typeof value === 'string' ? renderTemplate(value, plan.values) : value;
  }
  return {
    name: renderTemplateText(options.jobName, plan.values),
    type: options.jobType,
    priority: options.priority,
    submitter_platform: options.submitterPlatform,
    settings,
    metadata: metadataOf(plan, ids.jobId, ids.actionId),
    ...(options.workerTag === undefined ? {} : { worker_tag: options.workerTag }),
  };
}

/** `render.flamenco`: one Flamenco job per selected shot, checked, submitted once, tracked to the end. */
export const renderFlamencoHandler: Handler<'render.flamenco'> = async (context) => {
  const { options, data } = context;
  return runRender(context, {
    farm: context.farms.flamenco,
    farmName: farmNames.flamenco,
    setting: 'FLAMENCO_URL',
    allowEntityTypes: options.allowEntityTypes,
    build: (plan, jobId) => flamencoJobOf(options, plan, { jobId, actionId: data.action.id }),
    cancel: {},
  });
};
