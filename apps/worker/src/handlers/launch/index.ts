import { UnrecoverableError } from 'bullmq';
import { renderLaunchUrl, TemplateValueError, type LaunchTarget } from '@kitsu-actions/shared';
import { readSelection, refusedKinds } from '../../render/plan.ts';
import type { Handler } from '../types.ts';

/**
 * The `launch` kind: each selected task's URL (the action's template filled from Kitsu), for the status
 * page to open. Nothing is sent anywhere: the person's browser hands the URL to the application.
 */
export const launchHandler: Handler<'launch'> = async ({ job, data, zou, options, signal, progress }) => {
  if (zou === undefined) {
    throw new UnrecoverableError(
      `"${data.action.name}" fills its URL from Kitsu, and this worker has no Kitsu configured: set KITSU_URL and KITSU_BOT_TOKEN on the worker.`,
    );
  }
  const jobId = job.id ?? '';
  await progress(0, 'Reading the selection from Kitsu');
  const { places, refused } = await readSelection({
    zou,
    data,
    jobId,
    signal,
    nothingDone: 'nothing to open.',
    allowEntityTypes: options.allowEntityTypes,
  });
  const unfilled: string[] = [];
  const targets: LaunchTarget[] = [];
  for (const place of places) {
    try {
      targets.push({
        taskId: place.task.id,
        name: place.label,
        url: renderLaunchUrl(options.url, place.values),
      });
    } catch (error) {
      if (!(error instanceof TemplateValueError)) throw error;
      unfilled.push(`${place.what}: no {${error.field}} in Kitsu`);
    }
  }
  const problems = refusedKinds(refused, data.action.name, 'opens', options.allowEntityTypes);
  if (unfilled.length > 0) {
    problems.push(
      `the URL cannot be filled for ${unfilled.slice(0, 3).join(', ')}${unfilled.length > 3 ? ' …' : ''}`,
    );
  }
  if (problems.length > 0) throw new UnrecoverableError(`Nothing to open: ${problems.join('; ')}.`);
  const [only] = targets;
  if (only === undefined) throw new UnrecoverableError('Nothing to open: the selection has no task.');
  const summary =
    targets.length === 1
      ? `${options.label}: ${only.name}`
      : `${options.label}: ${targets.length} links, one per task (${targets
          .map((target) => target.name)
          .slice(0, 3)
          .join(', ')}${targets.length > 3 ? ' …' : ''})`;
  await progress(100, summary);
  return {
    type: 'launch',
    summary,
    targets,
    links: targets.map((target) => ({ label: `${options.label}: ${target.name}`, href: target.url })),
  };
};
