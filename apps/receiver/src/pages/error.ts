import { html, page, type SafeHtml } from '@kitsu-actions/shared';

export function errorPage(status: number, message: string): SafeHtml {
  return page({
    title: `Error ${status}`,
    body: html`<div class="card">
      <h1 class="error">The action could not start</h1>
      <p>${message}</p>
      <p class="muted">HTTP ${status}</p>
    </div>`,
  });
}
