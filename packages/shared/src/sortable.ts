import { createHash } from 'node:crypto';
import { SafeHtml } from './html.ts';

/**
 * The one script a worker-built page may run: it makes every `<table class="sortable">` sortable by a
 * click (or Enter) on a column header, numbers by their `data-value` when a cell has one. Result pages
 * are served with a policy that allows this exact script by its hash and nothing else, so a page that
 * carried any other script (say, a name from Kitsu that escaped escaping) would not run it.
 */
export const sortableTablesScript = `
(function () {
  function key(cell) {
    var raw = cell.getAttribute('data-value');
    var text = raw === null ? cell.textContent.trim() : raw;
    var number = Number(text);
    return text !== '' && !isNaN(number) ? { n: number } : { s: text.toLowerCase() };
  }
  function compare(a, b) {
    if (a.n !== undefined && b.n !== undefined) return a.n - b.n;
    if (a.n !== undefined) return -1;
    if (b.n !== undefined) return 1;
    return a.s < b.s ? -1 : a.s > b.s ? 1 : 0;
  }
  document.querySelectorAll('table.sortable').forEach(function (table) {
    var headers = table.querySelectorAll('thead th');
    headers.forEach(function (header, column) {
      header.tabIndex = 0;
      header.setAttribute('role', 'button');
      function sort() {
        var body = table.tBodies[0];
        if (!body) return;
        var descending = header.getAttribute('aria-sort') === 'ascending';
        headers.forEach(function (other) { other.removeAttribute('aria-sort'); });
        header.setAttribute('aria-sort', descending ? 'descending' : 'ascending');
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (x, y) {
          var order = compare(key(x.cells[column]), key(y.cells[column]));
          return descending ? -order : order;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      }
      header.addEventListener('click', sort);
      header.addEventListener('keydown', function (event) {
        if (event.key === 'Enter' || event.key === ' ') { event.preventDefault(); sort(); }
      });
    });
  });
})();
`;

/** The `<script>` element of sortableTablesScript, exactly as its hash was computed. */
export const sortableTablesElement = new SafeHtml(`<script>${sortableTablesScript}</script>`);

/** The Content-Security-Policy source that allows sortableTablesScript and no other script. */
export const sortableTablesSource = `'sha256-${createHash('sha256').update(sortableTablesScript).digest('base64')}'`;
