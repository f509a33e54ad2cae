import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { UnrecoverableError } from 'bullmq';
import { html, Link, page, renderTemplateText, SafeHtml } from '@kitsu-actions/shared';
import { handedOn, readSelection } from '../../render/plan.ts';
import type { Handler } from '../types.ts';

/** A line of standard error that moves the status page: `progress: 40 Publishing SH010`. */
const progressLine = /^progress:\s*(\d{1,3}(?:\.\d+)?)\s*(.*)$/;
/** Lines of standard error kept for the job's reason when the script fails. */
const keptErrorLines = 20;
/** How long a script has to end after SIGTERM before it is sent SIGKILL. */
export const killGraceMs = 5000;

interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** The JSON output's `summary` and http(s) `links`; anything else is the script's mistake, said so. */
function parseJsonOutput(text: string): { summary: string; links: Link[] } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UnrecoverableError(`The script's output is not JSON (output: json): ${text.slice(0, 200)}`);
  }
  const summary = (value as { summary?: unknown } | null)?.summary;
  if (typeof summary !== 'string' || summary.trim() === '') {
    throw new UnrecoverableError('The script\'s JSON output has no "summary" (a line for the status page).');
  }
  const links = Link.array().safeParse((value as { links?: unknown }).links ?? []);
  if (!links.success) {
    throw new UnrecoverableError('The script\'s JSON "links" must be a list of { "label", "href" }.');
  }
  return { summary, links: links.data.filter((link) => /^https?:\/\//i.test(link.href)) };
}

/**
 * The `script` kind: runs the action's executable (never through a shell) with the request and what Kitsu
 * knows of each task as JSON on its standard input, and only the environment the action lists. Its
 * standard output is the result; `progress: <percent> <message>` lines on its standard error move the
 * status page; a timeout or a cancel ends it (SIGTERM, then SIGKILL); a non-zero exit fails the job with
 * the last lines of its standard error.
 */
export const scriptHandler: Handler<'script'> = async ({
  job,
  data,
  zou,
  options,
  signal,
  progress,
  log,
  resultPageBytes,
}) => {
  if (zou === undefined) {
    throw new UnrecoverableError(
      `"${data.action.name}" gives its script what Kitsu knows of the tasks, and this worker has no Kitsu configured: set KITSU_URL and KITSU_BOT_TOKEN on the worker.`,
    );
  }
  const jobId = job.id ?? '';
  await progress(0, 'Reading the selection from Kitsu');
  const { places } = await readSelection({
    zou,
    data,
    jobId,
    signal,
    nothingDone: 'the script was not run.',
  });
  const first = places[0];
  const args = options.args.map((arg) => renderTemplateText(arg, first?.values ?? {}));
  const env: Record<string, string> = {};
  for (const name of options.env) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  if (options.botToken) {
    env['KITSU_URL'] = process.env['KITSU_URL'] ?? '';
    env['KITSU_BOT_TOKEN'] = process.env['KITSU_BOT_TOKEN'] ?? '';
  }
  const input = JSON.stringify({
    jobId,
    action: { id: data.action.id, name: data.action.name },
    request: data.request,
    tasks: places.map(handedOn),
  });

  await progress(5, `Running ${options.command}`);
  const child = spawn(options.command, args, { env, stdio: ['pipe', 'pipe', 'pipe'], shell: false });
  const spawned = new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  const ended = new Promise<Ended>((resolve) =>
    child.once('close', (code, killedBy) => resolve({ code, signal: killedBy })),
  );
  let output = '';
  let outputCut = false;
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    if (output.length < resultPageBytes) output += chunk;
    else outputCut = true;
  });
  const errorLines: string[] = [];
  let reported = Promise.resolve();
  createInterface({ input: child.stderr }).on('line', (line) => {
    const match = progressLine.exec(line);
    if (match) {
      const percent = Math.min(100, Number(match[1]));
      const message = (match[2] ?? '').trim() || `${percent}%`;
      reported = reported.then(() => progress(percent, message)).catch(() => undefined);
      return;
    }
    errorLines.push(line);
    if (errorLines.length > keptErrorLines) errorLines.shift();
  });

  let stopped: string | undefined;
  const stop = (why: string): void => {
    if (stopped !== undefined) return;
    stopped = why;
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), killGraceMs).unref();
  };
  const timer = setTimeout(
    () => stop(`did not finish within ${options.timeoutS} s`),
    options.timeoutS * 1000,
  );
  const onAbort = (): void => stop('was cancelled');
  signal.addEventListener('abort', onAbort);
  try {
    try {
      await spawned;
    } catch (error) {
      throw new UnrecoverableError(
        `${options.command} could not be run: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
    const { code, signal: killedBy } = await ended;
    await reported;
    log.info({ command: options.command, code, signal: killedBy, stopped }, 'script ended');
    const lastLines = errorLines.join('\n').trim();
    if (stopped === 'was cancelled') throw new Error(`${options.command} was cancelled`);
    if (stopped !== undefined) {
      throw new UnrecoverableError(
        `${options.command} ${stopped} and was stopped${lastLines ? `: ${lastLines}` : ''}`,
      );
    }
    if (code !== 0) {
      throw new UnrecoverableError(
        `${options.command} exited with ${code === null ? `signal ${String(killedBy)}` : `code ${code}`}${lastLines ? `: ${lastLines}` : ''}`,
      );
    }
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
  }

  const title = data.action.name;
  const cut = outputCut ? html`<p class="muted">The output was cut at ${resultPageBytes} bytes.</p>` : '';
  if (options.output === 'json') {
    const { summary, links } = parseJsonOutput(output);
    const body = html`<div class="card"><h1>${title}</h1><p>${summary}</p>${links.map((link) => html`<p><a href="${link.href}">${link.label}</a></p>`)}</div>`;
    await progress(100, summary);
    return { type: 'script', title, summary, links, html: page({ title, body }).value };
  }
  const lines = output.trimEnd().split('\n');
  const summary = (options.output === 'text' ? (lines.at(-1) ?? '') : '').trim() || `${title}: done`;
  const shown =
    options.output === 'html' && options.trusted ? new SafeHtml(output) : html`<pre>${output}</pre>`;
  const body = html`<div class="card"><h1>${title}</h1>${cut}${shown}</div>`;
  await progress(100, summary);
  return { type: 'script', title, summary, links: [], html: page({ title, body }).value };
};
