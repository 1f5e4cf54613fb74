/**
 * Data tables that stay tables for assistive technology and become one card per row on a
 * phone (CSS does that, using each cell's data-label). The explicit ARIA roles keep the
 * table semantics that browsers drop once CSS changes a table's display.
 */
import { h } from './dom';

export interface Column {
  /** The cell's data-col: what tests and styles select on. */
  readonly key: string;
  readonly label: string;
}

export function dataTable(columns: readonly Column[], caption: string, className: string, showCaption = false): { table: HTMLTableElement; body: HTMLTableSectionElement } {
  const body = h('tbody', { role: 'rowgroup' });
  const table = h(
    'table',
    { class: `cards ${className}`, role: 'table' },
    h('caption', { class: showCaption ? '' : 'visually-hidden' }, caption),
    h('thead', { role: 'rowgroup' }, h('tr', { role: 'row' }, ...columns.map((c) => h('th', { scope: 'col', role: 'columnheader' }, c.label)))),
    body,
  );
  return { table, body };
}

export function dataRow(columns: readonly Column[], cells: Readonly<Record<string, Node | string | number>>, attributes: Record<string, string | number> = {}): HTMLTableRowElement {
  const row = h('tr', { role: 'row', ...attributes });
  for (const { key, label } of columns) {
    const content = cells[key] ?? '';
    row.append(h('td', { role: 'cell', 'data-col': key, 'data-label': label }, typeof content === 'number' ? String(content) : content));
  }
  return row;
}

/** A message row spanning the table (no data yet). */
export function noteRow(columns: readonly Column[], text: string): HTMLTableRowElement {
  return h('tr', { role: 'row' }, h('td', { role: 'cell', colspan: columns.length, class: 'note-cell' }, text));
}
