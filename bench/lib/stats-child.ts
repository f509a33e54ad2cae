/**
 * One side of the `stats` figure, in a process of its own so its peak memory is its own:
 * `node bench/dist/stats-child.mjs ours|baseline` (the figure bundles it first) with ZOU_URL, ZOU_TOKEN,
 * PROJECT_ID set.
 * Prints one JSON line: the wall time of the work (module loading, and ECharts' one-time import, timed
 * apart), the tasks counted, and the process's peak resident memory.
 */
import { createLogger, jobKinds, type VerifiedRequest } from '@kitsu-actions/shared';
import { createZouClient } from '../../packages/zou/src/index.ts';
import { loadStats } from '../../apps/worker/src/handlers/stats/load.ts';
import { loadCharts, statsPage } from '../../apps/worker/src/handlers/stats/page.ts';

const side = process.argv[2];
const zouUrl = process.env['ZOU_URL'] ?? '';
const token = process.env['ZOU_TOKEN'] ?? '';
const projectId = process.env['PROJECT_ID'] ?? '';
/** Pages read at once on both sides: the report's own setting. */
const concurrency = 4;

async function ours(): Promise<number> {
  const request: VerifiedRequest = {
    actionId: 'stats',
    personId: '00000000-0000-4000-8000-000000000000',
    projectId,
    taskIds: ['00000000-0000-4000-8000-000000000001'],
    entityType: 'shot',
    origin: {},
    mode: 'ajax',
    receivedAt: '2025-05-01T00:00:00.000Z',
  };
  const report = await loadStats({
    zou: createZouClient({ baseUrl: zouUrl, auth: { token }, concurrency }),
    request,
    options: jobKinds.stats.options.parse({}),
    asOf: new Date(request.receivedAt),
    signal: new AbortController().signal,
    log: createLogger({ level: 'silent', name: 'bench-stats' }),
    progress: () => Promise.resolve(),
  });
  await statsPage(report, 'Production statistics', { csv: 'result.csv', json: 'result.json' });
  return report.totals.tasks;
}

/** The least a hand-written report does over the same pages: fetch, parse, count by type and status. */
async function baseline(): Promise<number> {
  const route = `${zouUrl}/data/projects/${projectId}/tasks`;
  const counts = new Map<string, number>();
  const read = async (page: number): Promise<number> => {
    const response = await fetch(`${route}?page=${String(page)}`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    const body = (await response.json()) as {
      data: { task_type_id: string; task_status_id: string }[];
      nb_pages: number;
    };
    for (const task of body.data) {
      const key = `${task.task_type_id}/${task.task_status_id}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return body.nb_pages;
  };
  const pages = await read(1);
  let next = 2;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next <= pages) {
        const page = next;
        next += 1;
        await read(page);
      }
    }),
  );
  return [...counts.values()].reduce((sum, count) => sum + count, 0);
}

// A worker loads ECharts with its first report and keeps it: the import is timed apart from the report.
const importStarted = performance.now();
if (side === 'ours') await loadCharts();
const importMs = performance.now() - importStarted;
const started = performance.now();
const tasks = side === 'ours' ? await ours() : await baseline();
const ms = performance.now() - started;
process.stdout.write(
  `${JSON.stringify({ ms, importMs, tasks, maxRssKb: process.resourceUsage().maxRSS })}\n`,
);
