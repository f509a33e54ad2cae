import { html, knownKitsuFields, page, type SafeHtml } from '@kitsu-actions/shared';
import type { Handler } from '../types.ts';
import { kitsuSections } from './kitsu.ts';
import { renderValue, section, table } from './render.ts';

/**
 * The debug page: the request as received and as understood, every field name and value. Kitsu data
 * about the selection is added as further sections by loaders, without touching the ones here.
 */
export const debugHandler: Handler<'debug'> = async ({ data, progress, job, zou, signal, log }) => {
  // Without Kitsu the page takes a millisecond: progress is reported only for the step that waits on Zou.
  const { request, raw, action } = data;
  const sections: SafeHtml[] = [];

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
          <h3>Headers <span class="muted">(cookies and authorization left out)</span></h3>
          ${table(Object.entries(raw.headers).map(([name, value]) => [name, value]))}
          <h3>Body</h3>
          <pre>${raw.body === '' ? '(empty)' : raw.body}</pre>`,
      ),
    );
  }

  const title = `Debug: ${action.name}`;
  const summary = `${request.taskIds.length} ${request.taskIds.length === 1 ? 'task' : 'tasks'} (${request.entityType}) from ${request.personEmail ?? request.personId}`;
  const body = html`<div class="card">
      <h1>${title}</h1>
      <p>${summary}</p>
      <p class="muted">Job <code>${job.id}</code>, received ${request.receivedAt} in ${request.mode} mode.</p>
    </div>
    ${sections}`;
  return { type: 'page', title, summary, html: page({ title, body }).value };
};
