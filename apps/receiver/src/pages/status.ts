import {
  finalStates,
  html,
  JobState,
  page,
  type JobLinks,
  type JobListEntry,
  type JobStatusView,
  type SafeHtml,
} from '@kitsu-actions/shared';

/**
 * A state as every page shows it: the very name the JSON carries and `GET /jobs?state=` takes (one
 * vocabulary: queued, active, completed, failed, cancelled).
 */
function stateBadge(state: JobStatusView['state']): SafeHtml {
  return html`<span class="state state-${state}">${state}</span>`;
}

function time(value: string | undefined): SafeHtml | string {
  return value
    ? html`<time datetime="${value}">${value.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}</time>`
    : '—';
}

/** `url` with `name=value` added to its query. */
function withQuery(url: string, name: string, value: string): string {
  return `${url}${url.includes('?') ? '&' : '?'}${name}=${encodeURIComponent(value)}`;
}

/** The live status page a form-mode action opens in a new tab; it refreshes itself until the job ends. */
export function statusPage(
  view: JobStatusView,
  options: { links: JobLinks; refreshSeconds: number },
): SafeHtml {
  const running = !finalStates.has(view.state);
  const { links } = options;
  // A launch opens its URL as soon as the job has completed; its button opens it again.
  const open = view.state === 'completed' ? view.result?.open : undefined;
  const head = running
    ? html`<meta http-equiv="refresh" content="${options.refreshSeconds}" />`
    : open === undefined
      ? undefined
      : html`<meta http-equiv="refresh" content="0; url=${open}" />`;
  const shown = view.links.filter((link) => link.label !== 'Status');
  // The message of an ended job is its error, shown once below.
  const message = view.error?.message === view.progress.message ? '' : view.progress.message;
  return page({
    title: `${view.actionName}: ${view.state}`,
    ...(head ? { head } : {}),
    body: html`<div class="card">
        <h1>${view.actionName}</h1>
        <p>
          <span id="state">${stateBadge(view.state)}</span>
          <span class="muted" id="message">${message}</span>
        </p>
        ${
          running
            ? html`<progress max="100" value="${view.progress.percent}">${view.progress.percent}%</progress>
                <p class="muted">This page refreshes itself every ${options.refreshSeconds} s.</p>
                <form method="post" action="${links.href(view.id, '/cancel')}" id="cancel">
                  <button type="submit">Cancel</button>
                </form>`
            : ''
        }
        ${view.error ? html`<p class="error" id="error">${view.error.message}</p>` : ''}
        ${open === undefined ? '' : html`<p class="muted" id="opened">Opened as the job completed; the link below opens it again.</p>`}
        ${shown.length > 0 ? html`<p>${shown.map((link) => html`<a href="${link.href}">${link.label}</a> `)}</p>` : ''}
      </div>
      <div class="card">
        <table>
          <tr>
            <th>Job</th>
            <td><code>${view.id}</code></td>
          </tr>
          <tr>
            <th>Action</th>
            <td>${view.actionName} <span class="muted">(${view.actionId}, ${view.kind})</span></td>
          </tr>
          <tr>
            <th>Requested by</th>
            <td>${view.requestedBy.email ?? view.requestedBy.personId}</td>
          </tr>
          <tr>
            <th>Project</th>
            <td>${view.projectIds.length > 0 ? view.projectIds.join(', ') : (view.projectId ?? 'none named')}</td>
          </tr>
          <tr>
            <th>Tasks</th>
            <td>${view.taskCount}</td>
          </tr>
          <tr>
            <th>Attempts</th>
            <td id="attempts">${view.attempts} of ${view.maxAttempts}</td>
          </tr>
          <tr>
            <th>Queued</th>
            <td>${time(view.createdAt)}</td>
          </tr>
          <tr>
            <th>Started</th>
            <td>${time(view.startedAt)}</td>
          </tr>
          <tr>
            <th>Finished</th>
            <td>${time(view.finishedAt)}</td>
          </tr>
          ${
            view.report
              ? html`<tr>
                  <th>Kitsu comment</th>
                  <td id="report" class="${view.report.state === 'posted' || view.report.state === 'skipped' ? '' : 'error'}">
                    ${view.report.message}
                  </td>
                </tr>`
              : ''
          }
        </table>
        <p class="muted"><a href="${withQuery(links.href(view.id), 'format', 'json')}">JSON</a></p>
      </div>`,
  });
}

export interface ListFilter {
  person?: string | undefined;
  action?: string | undefined;
  state?: JobStatusView['state'] | undefined;
  perPage: number;
}

/** The list URL for `filter`, on `page`. */
function listHref(publicUrl: string, filter: ListFilter, page: number): string {
  const query = new URLSearchParams();
  if (filter.person !== undefined) query.set('person', filter.person);
  if (filter.action !== undefined) query.set('action', filter.action);
  if (filter.state !== undefined) query.set('state', filter.state);
  if (filter.perPage !== 25) query.set('perPage', String(filter.perPage));
  if (page > 1) query.set('page', String(page));
  const text = query.toString();
  return `${publicUrl}/jobs${text === '' ? '' : `?${text}`}`;
}

export function jobListPage(
  jobs: JobListEntry[],
  options: { publicUrl: string; page: number; pages: number; total: number; filter: ListFilter },
): SafeHtml {
  const { publicUrl, filter } = options;
  const pages = Math.max(options.pages, 1);
  const byState = (state: ListFilter['state']): string => listHref(publicUrl, { ...filter, state }, 1);
  return page({
    title: 'Recent jobs',
    body: html`<div class="card">
      <h1>Recent jobs</h1>
      <p class="muted">
        ${options.total} jobs${filter.state === undefined ? '' : html` ${filter.state}`}; page ${options.page} of ${pages}
      </p>
      <p id="states">
        <a href="${byState(undefined)}">all</a>
        ${JobState.options.map((state) => html` · <a href="${byState(state)}">${state}</a>`)}
      </p>
      <table>
        <tr>
          <th>Queued</th>
          <th>Action</th>
          <th>State</th>
          <th>By</th>
          <th>Tasks</th>
        </tr>
        ${jobs.map(
          (job) =>
            html`<tr>
              <td>${time(job.createdAt)}</td>
              <td><a href="${job.links[0]?.href ?? ''}">${job.actionName}</a></td>
              <td><a href="${byState(job.state)}">${stateBadge(job.state)}</a></td>
              <td>${job.requestedBy.email ?? job.requestedBy.personId}</td>
              <td>${job.taskCount}</td>
            </tr>`,
        )}
      </table>
      <p>
        ${options.page > 1 ? html`<a rel="prev" href="${listHref(publicUrl, filter, options.page - 1)}">Newer</a>` : ''}
        ${options.page < pages ? html` <a rel="next" href="${listHref(publicUrl, filter, options.page + 1)}">Older</a>` : ''}
      </p>
    </div>`,
  });
}
