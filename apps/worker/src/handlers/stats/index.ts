import { UnrecoverableError } from 'bullmq';
import type { Handler } from '../types.ts';
import { loadStats } from './load.ts';
import { statsPage } from './page.ts';

/**
 * A production manager's report on the selection, its episode or its production (the action's `scope`):
 * where the tasks stand, what is late, estimates against time spent, open workload, throughput. Tasks are
 * read page by page and aggregated as they come; the page, result.csv and result.json show the same numbers.
 */
export const statsHandler: Handler<'stats'> = async ({
  data,
  options,
  zou,
  signal,
  log,
  progress,
  job,
  links,
}) => {
  if (zou === undefined) {
    throw new UnrecoverableError(
      `"${data.action.name}" reads the production from Kitsu, and this worker has no Kitsu configured: set KITSU_URL and KITSU_BOT_TOKEN on the worker.`,
    );
  }
  const report = await loadStats({
    zou,
    request: data.request,
    options,
    // The figures are as of the click, so every attempt of the job computes the same report.
    asOf: new Date(data.request.receivedAt),
    signal,
    log,
    progress,
  });
  await progress(98, 'Drawing the report');
  const jobId = job.id ?? '';
  const made = await statsPage(report, data.action.name, {
    csv: links.href(jobId, '/result.csv'),
    json: links.href(jobId, '/result.json'),
  });
  // The status view links the CSV and JSON files itself (the kind's manifest offers them).
  return {
    type: 'stats',
    ...made,
    links: [],
    report,
  };
};
