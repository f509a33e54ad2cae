import { describe, expect, it } from 'vitest';
import { html, SafeHtml } from './html.ts';

describe('html', () => {
  it('escapes interpolated values, including nested lists, but not nested templates', () => {
    const value = `<img src=x onerror="alert('1')">&`;
    const out = html`<p title="${value}">${[value, html`<b>${value}</b>`]}${null}${undefined}${false}${0}</p>`;
    expect(out).toBeInstanceOf(SafeHtml);
    expect(out.value).toBe(
      '<p title="&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt;&amp;">' +
        '&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt;&amp;' +
        '<b>&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt;&amp;</b>0</p>',
    );
  });
});
