import { html, page, type Catalogue, type Config, type SafeHtml } from '@kitsu-actions/shared';

/** Where `/` points, absolute from PUBLIC_URL: the JSON index and the landing page list the same. */
export function landingLinks(publicUrl: string): {
  actions: string;
  jobs: string;
  health: string;
  ready: string;
} {
  return {
    actions: `${publicUrl}/actions`,
    jobs: `${publicUrl}/jobs`,
    health: `${publicUrl}/healthz`,
    ready: `${publicUrl}/readyz`,
  };
}

export const serviceDescription =
  "The server behind Kitsu's custom actions: it receives the tasks a person selected in Kitsu, queues the work and reports its progress.";

/** `/` in a browser: what this service is and where to go from here. */
export function landingPage(options: {
  publicUrl: string;
  catalogue: Catalogue;
  authMode: Config['auth']['mode'];
}): SafeHtml {
  const links = landingLinks(options.publicUrl);
  const count = options.catalogue.actions.length;
  return page({
    title: 'kitsu-actions',
    body: html`<div class="card">
        <h1>kitsu-actions</h1>
        <p>
          The server behind this studio's Kitsu custom actions. When you select tasks in Kitsu and run one of
          its custom actions, Kitsu sends the selection here: it is checked, queued, and a worker does the
          work (a render on the farm, a page about the selection, …). An action that opens a new tab shows
          its live status page there.
        </p>
      </div>
      <div class="card">
        <table>
          <tr>
            <th><a href="${links.actions}">Actions</a></th>
            <td>
              the ${count} ${count === 1 ? 'action' : 'actions'} of the catalogue, with the URL each one is
              registered under in Kitsu
            </td>
          </tr>
          <tr>
            <th><a href="${links.jobs}">Recent jobs</a></th>
            <td>
              jobs run from Kitsu, newest first${
                options.authMode === 'zou-session' ? ' (the ones your Kitsu session may see)' : ''
              }
            </td>
          </tr>
          <tr>
            <th><a href="${links.health}">Health</a></th>
            <td>
              <code>/healthz</code> answers while the service runs; <a href="${links.ready}"><code>/readyz</code></a>
              while it can also queue work (Redis answers)
            </td>
          </tr>
        </table>
      </div>`,
  });
}

/** `GET /actions` in a browser: the catalogue, and what to enter in Kitsu for each action. */
export function actionsPage(options: {
  publicUrl: string;
  catalogue: Catalogue;
  authMode: Config['auth']['mode'];
}): SafeHtml {
  const { actions } = options.catalogue;
  return page({
    title: 'Actions · kitsu-actions',
    body: html`<div class="card">
        <h1>Actions</h1>
        <p class="muted">
          ${actions.length} ${actions.length === 1 ? 'action' : 'actions'} in the catalogue. In Kitsu each one
          is a custom action (main menu → Admin → Custom Actions) with this name, URL, entity type and “Use
          AJAX” switch; <code>pnpm kitsu-actions register</code> creates them all.
        </p>
        ${
          options.authMode === 'token'
            ? html`<p class="muted">
              AUTH_MODE=token: each URL registered in Kitsu ends with <code>?token=</code> and the
              ACTIONS_TOKEN (not shown here); <code>register</code> adds it.
            </p>`
            : ''
        }
        <table>
          <tr>
            <th>Name</th>
            <th>Kind</th>
            <th>Entity type</th>
            <th>Use AJAX</th>
            <th>URL</th>
          </tr>
          ${actions.map(
            (action) =>
              html`<tr>
                <td>
                  ${action.name}
                  ${
                    action.description === undefined
                      ? ''
                      : html`<br /><span class="muted">${action.description}</span>`
                  }
                </td>
                <td><code>${action.kind}</code></td>
                <td>${action.entityType}</td>
                <td>${action.ajax ? 'on (in the background)' : 'off (a new tab with its status)'}</td>
                <td>
                  <code>${options.publicUrl}/actions/${action.id}</code>
                  ${action.method === 'get' ? html`<br /><span class="muted">GET or POST</span>` : ''}
                </td>
              </tr>`,
          )}
        </table>
        <p class="muted">
          <a href="${options.publicUrl}/">kitsu-actions</a> ·
          <a href="${options.publicUrl}/actions?format=json">JSON</a>
        </p>
      </div>`,
  });
}
