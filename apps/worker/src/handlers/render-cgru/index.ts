import { farmNames, renderTemplateText, type CgruRenderOptions } from '@kitsu-actions/shared';
import { farmJobFields, type AfanasyJob } from '../../farms/index.ts';
import type { ShotPlan } from '../../render/plan.ts';
import { runRender } from '../../render/run.ts';
import type { Handler } from '../types.ts';

/** The Afanasy job of one shot: one block of numeric frames, templates filled with the shot's values. */
export function afanasyJobOf(
  options: CgruRenderOptions,
  plan: ShotPlan,
  ids: { jobId: string; actionId: string },
): AfanasyJob {
  const text = (template: string): string => renderTemplateText(template, plan.values);
  return {
    name: text(options.jobName),
    ...(options.priority === undefined ? {} : { priority: options.priority }),
    ...(options.branch === undefined ? {} : { branch: text(options.branch) }),
    custom_data: {
      kitsu_task_id: plan.task.id,
      kitsu_project_id: plan.project.id,
      kitsu_entity: plan.label,
      [farmJobFields.bullJobId]: ids.jobId,
      kitsu_actions_action: ids.actionId,
    },
    blocks: [
      {
        name: plan.entity.name,
        service: options.service,
        ...(options.parser === undefined ? {} : { parser: options.parser }),
        command: text(options.command),
        frame_first: plan.frameIn,
        frame_last: plan.frameOut,
        frames_per_task: options.framesPerTask,
        frames_inc: 1,
        ...(options.capacity === undefined ? {} : { capacity: options.capacity }),
        ...(options.workingDirectory === undefined
          ? {}
          : { working_directory: text(options.workingDirectory) }),
        ...(options.files === undefined ? {} : { files: text(options.files) }),
      },
    ],
  };
}

/** `render.cgru`: one Afanasy job per selected shot, validated here, submitted once, tracked to the end. */
export const renderCgruHandler: Handler<'render.cgru'> = async (context) => {
  const { options, data } = context;
  return runRender(context, {
    farm: context.farms.afanasy,
    farmName: farmNames.afanasy,
    setting: 'AFANASY_HOST',
    allowEntityTypes: options.allowEntityTypes,
    build: (plan, jobId) => afanasyJobOf(options, plan, { jobId, actionId: data.action.id }),
    cancel: { mode: options.cancelMode },
  });
};
