import { html, SafeHtml } from '@kitsu-actions/shared';

/** A card of the debug page, with its title kept so that a page cut to size can say what it left out. */
export class Section extends SafeHtml {
  constructor(
    readonly title: string,
    value: string,
  ) {
    super(value);
  }
}

/** Any JSON value as markup: scalars inline, lists and objects as nested tables. */
export function renderValue(value: unknown): SafeHtml {
  if (value === null || value === undefined) return html`<span class="muted">${String(value)}</span>`;
  if (Array.isArray(value)) {
    if (value.length === 0) return html`<span class="muted">[] (empty)</span>`;
    if (value.every((item) => typeof item !== 'object' || item === null)) {
      return html`<ol start="0">
        ${value.map((item: unknown) => html`<li><code>${scalar(item)}</code></li>`)}
      </ol>`;
    }
    return table(value.map((item, index) => [String(index), renderValue(item)]));
  }
  if (typeof value === 'object') {
    return table(Object.entries(value).map(([name, item]) => [name, renderValue(item)]));
  }
  return html`<code>${scalar(value)}</code>`;
}

function scalar(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
}

export function table(rows: Array<[SafeHtml | string, SafeHtml | string]>): SafeHtml {
  return html`<table>
    ${rows.map(
      ([name, value]) =>
        html`<tr>
          <th>${name}</th>
          <td>${value}</td>
        </tr>`,
    )}
  </table>`;
}

export function section(title: string, body: SafeHtml): Section {
  return new Section(
    title,
    html`<div class="card">
      <h2>${title}</h2>
      ${body}
    </div>`.value,
  );
}
