// Small helpers to fill tables from JSON rows (text only: never HTML from data).
import { icon } from './icons.js';

export function cell(tr, text, cls) {
  const td = document.createElement('td');
  if (cls) td.className = cls;
  if (text instanceof Node) td.append(text);
  else td.textContent = text === null || text === undefined ? '—' : String(text);
  tr.append(td);
  return td;
}

export function outcomeNode(outcome) {
  const s = document.createElement('span');
  const o = outcome || 'incomplete';
  s.className = `outcome ${o}`;
  const kind = o === 'PASS' ? 'OK' : o === 'FAIL' ? 'NO' : o === 'ABORTED' ? 'ABORTED' : 'WARN';
  s.append(icon(kind), document.createTextNode(o));
  return s;
}

export function link(href, text) {
  const a = document.createElement('a');
  a.href = href;
  a.textContent = text;
  return a;
}

export function fill(table, rows, render, empty = 'nothing found') {
  const body = table.tBodies[0];
  body.replaceChildren();
  if (!rows || !rows.length) {
    const tr = document.createElement('tr');
    const td = cell(tr, empty);
    td.colSpan = table.tHead.rows[0].cells.length;
    body.append(tr);
    return;
  }
  for (const r of rows) {
    const tr = document.createElement('tr');
    render(tr, r);
    body.append(tr);
  }
}
