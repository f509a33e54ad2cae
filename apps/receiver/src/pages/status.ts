import { finalStates, html, page, type JobStatusView, type SafeHtml } from '@kitsu-actions/shared';

const stateWords: Record<JobStatusView['state'], string> = {
  queued: 'Queued',
  active: 'Running',
  completed: 'Completed',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

function time(value: string | undefined): SafeHtml | string {
  return value
    ? html`<time datetime="${value}">${value.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}</time>`
    : '—';
}

/** The live status page a form-mode action opens in a new tab; it refreshes itself until the job ends. */
export function statusPage(
  view: JobStatusView,
  options: { publicUrl: string; refreshSeconds: number },
): SafeHtml {
  const running = !finalStates.has(view.state);
  const base = options.publicUrl;
  const head = running ? html`<meta http-equiv="refresh" content="${options.refreshSeconds}" />` : undefined;
  const result = view.links.filter((link) => link.label !== 'Status');
  return page({
    title: `${view.actionName}: ${stateWords[view.state]}`,
    ...(head ? { head } : {}),
    body: html`<div class="card">
        <h1>${view.actionName}</h1>
        <p>
          <span class="state state-${view.state}" id="state">${stateWords[view.state]}</span>
          <span class="muted">${view.progress.message}</span>
        </p>
        ${
          running
            ? html`<progress max="100" value="${view.progress.percent}">${view.progress.percent}%</progress>
                <p class="muted">This page refreshes itself every ${options.refreshSeconds} s.</p>
                <form method="post" action="${base}/jobs/${view.id}/cancel" id="cancel">
                  <button type="submit">Cancel</button>
                </form>`
            : ''
        }
        ${view.error ? html`<p class="error" id="error">${view.error.message}</p>` : ''}
        ${result.length > 0 ? html`<p>${result.map((link) => html`<a href="${link.href.startsWith('/') ? base + link.href : link.href}">${link.label}</a> `)}</p>` : ''}
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
            <td>${view.projectId ?? 'derived from the tasks'}</td>
          </tr>
          <tr>
            <th>Tasks</th>
            <td>${view.taskIds.length}</td>
          </tr>
          <tr>
            <th>Attempts</th>
            <td>${view.attempts}</td>
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
        <p class="muted"><a href="${base}/jobs/${view.id}?format=json">JSON</a></p>
      </div>`,
  });
}

export function jobListPage(
  jobs: JobStatusView[],
  options: { publicUrl: string; page: number; pages: number; total: number },
): SafeHtml {
  return page({
    title: 'Recent jobs',
    body: html`<div class="card">
      <h1>Recent jobs</h1>
      <p class="muted">${options.total} jobs; page ${options.page} of ${Math.max(options.pages, 1)}</p>
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
              <td><a href="${options.publicUrl}/jobs/${job.id}">${job.actionName}</a></td>
              <td><span class="state state-${job.state}">${stateWords[job.state]}</span></td>
              <td>${job.requestedBy.email ?? job.requestedBy.personId}</td>
              <td>${job.taskIds.length}</td>
            </tr>`,
        )}
      </table>
    </div>`,
  });
}
