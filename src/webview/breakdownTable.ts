/** The sortable breakdown table: one row per group, click a row to narrow, row actions for the tree and the costliest calls. */
import { formatCount, formatGroupCost, formatPct, formatUsd, plural } from '../core/format';
import { CACHE_HIT_RATIO } from './charts';
import type { GroupRow } from '../shared/protocol';
import { el, setChildren } from './dom';
import type { SortKey, SortState } from './vscodeApi';

interface Column {
  key: SortKey;
  label: string;
  numeric: boolean;
  cell(r: GroupRow): string;
}

const COLUMNS: Column[] = [
  { key: 'key', label: 'Group', numeric: false, cell: (r) => r.key },
  { key: 'costUsd', label: 'Cost', numeric: true, cell: (r) => formatGroupCost(r) },
  { key: 'share', label: 'Share', numeric: true, cell: (r) => formatPct(r.share) },
  { key: 'calls', label: 'Calls', numeric: true, cell: (r) => formatCount(r.calls) },
  { key: 'p50Usd', label: 'p50 / call', numeric: true, cell: (r) => formatUsd(r.p50Usd) },
  { key: 'p95Usd', label: 'p95 / call', numeric: true, cell: (r) => formatUsd(r.p95Usd) },
  { key: 'p99Usd', label: 'p99 / call', numeric: true, cell: (r) => formatUsd(r.p99Usd) },
  { key: 'cacheHitRatio', label: CACHE_HIT_RATIO, numeric: true, cell: (r) => formatPct(r.cacheHitRatio) },
];

export interface TableHost {
  narrow(value: string): void;
  revealInTree(value: string): void;
  openCostliest(value: string): void;
  sortChanged(sort: SortState): void;
  swatch(key: string): string | undefined;
}

const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });

export function sortRows(rows: GroupRow[], sort: SortState): GroupRow[] {
  const sign = sort.dir === 'asc' ? 1 : -1;
  const k = sort.key;
  return rows
    .map((r, i) => ({ r, i }))
    .sort((a, b) => {
      if (k === 'key') return sign * collator.compare(a.r.key, b.r.key) || a.i - b.i;
      const x = a.r[k];
      const y = b.r[k];
      // Missing figures (no priced call) sort last whatever the direction.
      if (x === null || !Number.isFinite(x)) return y === null || !Number.isFinite(y) ? a.i - b.i : 1;
      if (y === null || !Number.isFinite(y)) return -1;
      return sign * (x - y) || a.i - b.i;
    })
    .map((e) => e.r);
}

export class BreakdownTable {
  readonly element: HTMLTableElement;
  private readonly caption = el('caption');
  private readonly headRow = el('tr');
  private readonly body = el('tbody');
  private readonly headers = new Map<SortKey, { th: HTMLTableCellElement; button: HTMLButtonElement; label: HTMLSpanElement }>();
  private rows: GroupRow[] = [];
  private dim = '';

  constructor(private readonly host: TableHost, private sort: SortState) {
    this.element = el('table', { class: 'data breakdown' }, this.caption, el('thead', {}, this.headRow), this.body);
    for (const c of COLUMNS) {
      const label = el('span', {}, c.label);
      const button = el('button', { type: 'button', class: 'sort' }, label, el('span', { class: 'sort-icon', 'aria-hidden': 'true' }));
      button.addEventListener('click', () => this.toggleSort(c));
      const th = el('th', { scope: 'col', class: c.numeric ? 'num' : undefined }, button);
      this.headers.set(c.key, { th, button, label });
      this.headRow.appendChild(th);
    }
    this.headRow.appendChild(el('th', { scope: 'col', class: 'actions-col' }, el('span', { class: 'visually-hidden' }, 'Actions')));
    this.body.addEventListener('click', (e) => {
      const target = e.target as Element;
      if (target.closest('button, a, input, select')) return;
      const tr = target.closest('tr');
      const key = tr ? this.keyOf(tr) : undefined;
      if (key !== undefined && key !== '(other)') this.host.narrow(key);
    });
  }

  private keyOf(tr: HTMLTableRowElement): string | undefined {
    const i = Number(tr.dataset.index);
    return Number.isInteger(i) ? this.rows[i]?.key : undefined;
  }

  private toggleSort(c: Column) {
    this.sort = this.sort.key === c.key ? { key: c.key, dir: this.sort.dir === 'asc' ? 'desc' : 'asc' } : { key: c.key, dir: c.numeric ? 'desc' : 'asc' };
    this.host.sortChanged(this.sort);
    this.renderBody();
    this.headers.get(c.key)?.button.focus();
  }

  update(rows: GroupRow[], dim: string): void {
    this.rows = rows;
    this.dim = dim;
    this.caption.textContent = `Breakdown by ${dim}: ${plural(rows.length, 'group')}, costliest first unless sorted. Select a row to filter by it.`;
    const first = this.headers.get('key');
    if (first) first.label.textContent = dim.charAt(0).toUpperCase() + dim.slice(1);
    this.renderBody();
  }

  private renderBody() {
    for (const [key, h] of this.headers) {
      const active = this.sort.key === key;
      h.th.setAttribute('aria-sort', active ? (this.sort.dir === 'asc' ? 'ascending' : 'descending') : 'none');
      h.th.classList.toggle('sorted', active);
      const icon = h.button.querySelector('.sort-icon');
      if (icon) icon.textContent = active ? (this.sort.dir === 'asc' ? '▲' : '▼') : '';
    }
    // Keep keyboard focus on the same control across a live update.
    const active = document.activeElement;
    const focusRow = active instanceof HTMLElement && this.body.contains(active) ? active.closest('tr') : null;
    const focusKey = focusRow ? this.keyOf(focusRow as HTMLTableRowElement) : undefined;
    const focusAction = active instanceof HTMLElement ? active.dataset.action : undefined;

    const sorted = sortRows(this.rows, this.sort);
    const index = new Map(this.rows.map((r, i) => [r, i]));
    const maxShare = Math.max(1e-9, ...this.rows.map((r) => r.share));
    const frag = document.createDocumentFragment();
    let focusTarget: HTMLElement | undefined;
    for (const r of sorted) {
      const other = r.key === '(other)';
      const special = r.key.startsWith('(') && r.key.endsWith(')');
      const tr = el('tr', { 'data-index': String(index.get(r)), class: other ? 'static' : 'clickable' });
      const swatchColor = this.host.swatch(r.key);
      const swatch = el('span', { class: 'swatch', 'aria-hidden': 'true' });
      if (swatchColor) swatch.style.background = swatchColor;
      else swatch.classList.add('swatch-none');
      const keyContent = other
        ? el('span', { class: 'key special' }, r.key)
        : el('button', { type: 'button', class: `key link${special ? ' special' : ''}`, 'data-action': 'narrow', title: `Show only ${this.dim} = ${r.key}` }, r.key);
      if (!other) keyContent.addEventListener('click', () => this.host.narrow(r.key));
      tr.appendChild(el('th', { scope: 'row' }, el('span', { class: 'key-cell' }, swatch, keyContent)));
      for (const c of COLUMNS.slice(1)) {
        const td = el('td', { class: 'num' });
        if (c.key === 'share') {
          const bar = el('span', { class: 'share-bar' });
          bar.style.width = `${Math.max(0, Math.min(100, (r.share / maxShare) * 100)).toFixed(1)}%`;
          td.classList.add('share');
          td.append(el('span', { class: 'share-track', 'aria-hidden': 'true' }, bar), el('span', { class: 'share-pct' }, c.cell(r)));
        } else {
          td.textContent = c.cell(r);
        }
        if (c.key === 'costUsd' && r.pricedCalls === 0 && r.calls > 0) {
          td.title = `${plural(r.calls, 'call')}, none priced: the cost is unknown`;
        } else if (c.key === 'costUsd' && r.unpricedCalls > 0) {
          td.appendChild(el('span', { class: 'unpriced-note', title: `${plural(r.unpricedCalls, 'unpriced call is', 'unpriced calls are')} not included` }, ` +${formatCount(r.unpricedCalls)} unpriced`));
        }
        tr.appendChild(td);
      }
      const actions = el('td', { class: 'actions' });
      if (!other) {
        const reveal = el('button', { type: 'button', class: 'row-action', 'data-action': 'reveal', title: `Reveal ${r.key} in the cost tree` }, 'Reveal in tree');
        reveal.addEventListener('click', () => this.host.revealInTree(r.key));
        const costly = el('button', { type: 'button', class: 'row-action', 'data-action': 'costliest', title: `Open the costliest calls of ${r.key}` }, 'Costliest calls');
        costly.addEventListener('click', () => this.host.openCostliest(r.key));
        actions.append(reveal, costly);
      }
      tr.appendChild(actions);
      if (focusKey !== undefined && r.key === focusKey) {
        focusTarget = (focusAction ? tr.querySelector<HTMLElement>(`[data-action="${focusAction}"]`) : null) ?? undefined;
      }
      frag.appendChild(tr);
    }
    if (!sorted.length) {
      frag.appendChild(el('tr', {}, el('td', { colspan: String(COLUMNS.length + 1), class: 'empty' }, 'No calls in this view: see the note above.')));
    }
    setChildren(this.body, frag);
    focusTarget?.focus({ preventScroll: true });
  }
}
