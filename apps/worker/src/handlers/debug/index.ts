import { formatBytes, html, knownKitsuFields, page, type SafeHtml } from '@kitsu-actions/shared';
import type { Handler } from '../types.ts';
import { kitsuSections } from './kitsu.ts';
import { renderValue, section, table, type Section } from './render.ts';

/** Room kept for the note that names what a cut page left out. */
const noteRoom = 8 * 1024;

const bytesOf = (markup: SafeHtml | string): number => Buffer.byteLength(String(markup), 'utf8');

/**
 * The sections that fit in `budget` bytes, in page order (a section too large is skipped, smaller ones
 * after it still get in), and a note naming the ones left out.
 */
export function fitSections(
  sections: readonly Section[],
  budget: number,
  limitBytes: number,
): { kept: Section[]; note: SafeHtml | undefined } {
  const kept: Section[] = [];
  const leftOut: Section[] = [];
  let room = budget;
  for (const candidate of sections) {
    const size = bytesOf(candidate);
    if (size <= room) {
      kept.push(candidate);
      room -= size;
    } else {
      leftOut.push(candidate);
    }
  }
  if (leftOut.length === 0) return { kept, note: undefined };
  const total = leftOut.reduce((sum, entry) => sum + bytesOf(entry), 0);
  const names = leftOut.slice(0, 20).map((entry) => entry.title.slice(0, 120));
  const more = leftOut.length - names.length;
  const note = html`<div class="card" id="cut">
    <h2 class="error">This page was cut to fit RESULT_PAGE_LIMIT (${formatBytes(limitBytes)})</h2>
    <p>
      ${leftOut.length} of ${sections.length} sections (${formatBytes(total)}) are not shown:
      ${names.join('; ')}${more > 0 ? ` and ${more} more` : ''}.
    </p>
    <p class="muted">Select fewer tasks, or raise RESULT_PAGE_LIMIT on the worker.</p>
  </div>`;
  return { kept, note };
}

/**
 * The debug page: the request as received and as understood, every field name and value. Kitsu data
 * about the selection is added as further sections by loaders, without touching the ones here. The
 * page is at most RESULT_PAGE_LIMIT: sections that do not fit are left out and named at the top.
 */
export const debugHandler: Handler<'debug'> = async ({
  data,
  progress,
  job,
  zou,
  signal,
  log,
  resultPageBytes,
}) => {
  // Without Kitsu the page takes a millisecond: progress is reported only for the step that waits on Zou.
  const { request, raw, action } = data;
  const sections: Section[] = [];

  sections.push(
    section(
      'Normalized request',
      table(Object.entries(request).map(([name, value]) => [name, renderValue(value)])),
    ),
  );
  if (zou === undefined) {
    sections.push(
      section(
        'Kitsu data',
        html`<p class="muted">
          Not read: the worker has no Kitsu configured (KITSU_URL and KITSU_BOT_TOKEN).
        </p>`,
      ),
    );
  } else {
    await progress(30, 'Reading the selection from Kitsu');
    sections.push(...(await kitsuSections(zou, request, { signal, log })));
  }
  if (raw) {
    sections.push(
      section(
        'Fields as sent by Kitsu',
        table(
          Object.entries(raw.fields).map(([name, value]) => [
            html`${name}${knownKitsuFields.has(name) ? '' : html` <span class="muted">(extra, not used)</span>`}`,
            renderValue(value),
          ]),
        ),
      ),
      section(
        'Request as received',
        html`${table([
          ['method', raw.method],
          ['url', raw.url],
          ['content type', raw.contentType ?? '—'],
        ])}
          ${
            raw.cut === undefined
              ? ''
              : html`<h3 class="error">Cut before it was stored</h3>
                <ul>
                  ${raw.cut.map((note) => html`<li>${note}</li>`)}
                </ul>`
          }
          <h3>Headers <span class="muted">(cookies, authorization and tokens left out)</span></h3>
          ${table(Object.entries(raw.headers).map(([name, value]) => [name, value]))}
          <h3>Body</h3>
          <pre>${raw.body === '' ? '(empty)' : raw.body}</pre>`,
      ),
    );
  }

  const title = `Debug: ${action.name}`;
  const summary = `${request.taskIds.length} ${request.taskIds.length === 1 ? 'task' : 'tasks'} (${request.entityType}) from ${request.personEmail ?? request.personId}`;
  const header = html`<div class="card">
    <h1>${title}</h1>
    <p>${summary}</p>
    <p class="muted">Job <code>${job.id}</code>, received ${request.receivedAt} in ${request.mode} mode.</p>
  </div>`;
  const shell = bytesOf(page({ title, body: header }));
  const { kept, note } = fitSections(sections, resultPageBytes - shell - noteRoom, resultPageBytes);
  if (note !== undefined) log.info({ limit: resultPageBytes }, 'debug page cut to RESULT_PAGE_LIMIT');
  const body = html`${header}${note}${kept}`;
  return { type: 'page', title, summary, links: [], html: page({ title, body }).value };
};
