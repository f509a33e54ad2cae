/**
 * Markup built by construction: values interpolated into `html` templates are escaped unless they are
 * themselves SafeHtml. No other code concatenates markup with data.
 */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const escapes: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};

export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"'`]/g, (char) => escapes[char] ?? char);
}

type Interpolation = SafeHtml | string | number | boolean | null | undefined | readonly Interpolation[];

function render(value: Interpolation): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map((item: Interpolation) => render(item)).join('');
  return escapeHtml(value);
}

export function html(strings: TemplateStringsArray, ...values: Interpolation[]): SafeHtml {
  let out = strings[0] ?? '';
  values.forEach((value, index) => {
    out += render(value) + (strings[index + 1] ?? '');
  });
  return new SafeHtml(out);
}

const baseStyle = `
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:#f4f5f7;color:#1f2328}
main{max-width:960px;margin:2rem auto;padding:0 1rem}
h1{font-size:1.4rem;margin:.2rem 0 1rem}h2{font-size:1.1rem;margin:1.6rem 0 .5rem}
.card{background:#fff;border-radius:8px;padding:1rem 1.25rem;box-shadow:0 1px 2px #0002;margin-bottom:1rem}
.state{display:inline-block;padding:.15rem .6rem;border-radius:99px;font-weight:600;background:#e4e7eb}
.state-completed{background:#d7f5dd;color:#116329}.state-failed{background:#ffe1e1;color:#a40e26}
.state-active{background:#dbeafe;color:#1e40af}.state-cancelled{background:#eee;color:#555}
progress{width:100%;height:1rem}
table{border-collapse:collapse;width:100%;font-size:.9rem}
td,th{border-bottom:1px solid #e5e7eb;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{color:#57606a;font-weight:600;white-space:nowrap}
code,pre{font:13px/1.4 ui-monospace,Menlo,Consolas,monospace}pre{white-space:pre-wrap;word-break:break-all;margin:0}
.muted{color:#57606a}.error{color:#a40e26}a{color:#0969da}
`;

/** A complete, self-contained page (no external assets: the receiver may sit behind a strict proxy). */
export function page(options: { title: string; body: SafeHtml; head?: SafeHtml }): SafeHtml {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${options.title}</title>
        ${options.head}
        <style>
          ${new SafeHtml(baseStyle)}
        </style>
      </head>
      <body>
        <main>${options.body}</main>
      </body>
    </html>`;
}
