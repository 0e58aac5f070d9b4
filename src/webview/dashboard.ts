/** The dashboard page: built once, then filled from each snapshot (text via textContent, charts updated in place). */
import type { DashboardCommand, DashboardFailure } from '../core/dashboardMessages';
import { formatCount, formatGroupCost, formatPct, formatUsd, plural, savingsKnown } from '../core/format';
import { DASHBOARD_RANGES, type DashboardFilter, type DashboardQuery, type DashboardRange, type DashboardSnapshot, type WhatIfAnswer } from '../shared/protocol';
import { BreakdownTable } from './breakdownTable';
import { applyChartTheme, CACHE_HIT_RATIO, CacheChart, type ChartHost, HistogramChart, RankChart, seriesColors, TimeChart } from './charts';
import { el, scrollFrame, setChildren, setText, simpleTable } from './dom';
import { boundsLabel, bucketLong, dateTimeUtc, isoDay, previousLabel, RANGE_LABEL, timeAgo, usdEdge } from './labels';
import { applyCssColors, readTheme, type Theme } from './theme';
import type { SortState, UiState, VsCodeApi } from './vscodeApi';

const DAY_MS = 86_400_000;
const MAX_FILTERS = 10;
const MAX_VALUE = 500;

function sameQuery(a: DashboardQuery, b: DashboardQuery): boolean {
  const norm = (q: DashboardQuery) =>
    JSON.stringify([q.range, q.groupBy, q.filters.map((f) => [f.dim, f.value]), q.range === 'custom' ? [q.sinceMs ?? null, q.untilMs ?? null] : null]);
  return norm(a) === norm(b);
}

interface Card {
  root: HTMLElement;
  value: HTMLElement;
  detail: HTMLElement;
}

/** One line saying what failed and why (the reason is the host's text, shown as text). */
export function failureLine(f: DashboardFailure): string {
  switch (f.request) {
    case 'snapshot':
      return `Could not update the dashboard: ${f.message}`;
    case 'export':
      return `The export failed: ${f.message}`;
    case 'revealInTree':
      return `Could not reveal the group in the cost tree: ${f.message}`;
    case 'openCostliest':
      return `Could not list the costliest calls: ${f.message}`;
    case 'whatIf':
      return `Re-pricing failed: ${f.message}`;
    case 'command':
      return `The command failed: ${f.message}`;
  }
}

/** A row of buttons under a note (styled by .note-actions in media/dashboard.css). */
function noteActions(...buttons: HTMLButtonElement[]): HTMLElement {
  return el('p', { class: 'note-actions' }, ...buttons);
}

/** The dashboard's range is its own (src/views and the status bar follow `llmCostLens.timeRange`). */
const RANGE_SCOPE = "The dashboard's own time range: the Cost view and the status bar keep their own time range (LLM Cost Lens: Time Range…), and neither changes the other.";

/** Why "Reveal in tree" is unavailable, and what it does when it is. */
const REVEAL_NONE = 'Nothing to reveal yet: filter the view first (select a bar or a table row), then the tree opens at that group.';
const REVEAL_SOME = 'Reveal the group of the current filters in the cost tree';

function card(title: string, cls = ''): Card {
  const value = el('p', { class: 'card-value' });
  const detail = el('div', { class: 'card-detail' });
  const root = el('section', { class: `card stat ${cls}`.trim() }, el('h2', { class: 'card-title' }, title), value, detail);
  return { root, value, detail };
}

interface ChartPanel {
  root: HTMLElement;
  canvas: HTMLCanvasElement;
  box: HTMLElement;
  subtitle: HTMLElement;
  tableBox: HTMLElement;
  extra: HTMLElement;
}

function chartPanel(id: string, title: string, description: string, wide = false): ChartPanel {
  const canvas = el('canvas', { role: 'img', 'aria-label': `${title}. The same figures are in the table below the chart.` });
  const box = el('div', { class: 'chart-box' }, canvas);
  const subtitle = el('p', { class: 'chart-subtitle' }, description);
  const tableBox = el('div', { class: 'table-scroll' });
  const extra = el('div', { class: 'chart-extra' });
  const heading = el('h2', { id: `${id}-title` }, title);
  const root = el(
    'section',
    { class: `card chart-card${wide ? ' wide' : ''}`, id, 'aria-labelledby': `${id}-title` },
    heading,
    subtitle,
    box,
    extra,
    el('details', { class: 'chart-table' }, el('summary', {}, 'Figures as a table'), tableBox),
  );
  return { root, canvas, box, subtitle, tableBox, extra };
}

export class Dashboard implements ChartHost {
  private snap: DashboardSnapshot | undefined;
  private query: DashboardQuery | undefined;
  private themeNow: Theme;
  private colors = new Map<string, string>();
  private restored = false;

  // Header and controls
  private readonly meta = el('p', { class: 'meta' });
  private readonly rangeSelect = el('select', { id: 'range', title: RANGE_SCOPE });
  private readonly sinceInput = el('input', { type: 'date', id: 'since', 'aria-label': 'From (UTC)' });
  private readonly untilInput = el('input', { type: 'date', id: 'until', 'aria-label': 'To (UTC, inclusive)' });
  private readonly customBox = el('span', { class: 'custom-range' });
  private readonly groupSelect = el('select', { id: 'groupBy' });
  private readonly chips = el('ul', { class: 'chips', 'aria-label': 'Active filters' });
  private readonly status = el('p', { class: 'status', role: 'status', 'aria-live': 'polite' });
  private readonly failure = el('div', { class: 'warning failure', role: 'alert' });
  private readonly warning = el('div', { class: 'warning', role: 'alert' });
  private warningKey = '';
  private readonly emptyNote = el('div', { class: 'empty-note' });
  /** Everything the snapshot fills: marked busy (and dimmed) while another query's figures are on the way. */
  private readonly content = el('div', { class: 'content', 'aria-busy': 'false' });
  private readonly revealButton = el('button', { type: 'button', class: 'secondary', title: REVEAL_SOME }, 'Reveal in tree');
  /** A query the page sent and the host has not taken up yet (its `loading` or a snapshot of it answers). */
  private pending: DashboardQuery | undefined;
  private readonly signals = el('section', { class: 'card signals', 'aria-labelledby': 'signals-title' });
  private readonly whatIfSelect = el('select', { id: 'whatIfModel' });
  private readonly whatIfButton = el('button', { type: 'button', class: 'secondary' }, 'Re-price');
  private readonly whatIfResult = el('p', { class: 'whatif-result', role: 'status', 'aria-live': 'polite' });
  private readonly whatIfBox = el('div', { class: 'whatif' });

  // Cards
  private readonly cTotal = card('Total cost', 'primary');
  private readonly cCalls = card('Calls');
  private readonly cPerCall = card('Cost per call');
  private readonly cCache = card(CACHE_HIT_RATIO);
  private readonly cUnattr = card('Unattributed');

  // Charts
  private readonly pTime = chartPanel('chart-time', 'Cost over time', '', true);
  private readonly pModel = chartPanel('chart-model', 'Cost by model', 'Select a bar to filter by model.');
  private readonly pTop = chartPanel('chart-top', 'Top 10 by spend', '');
  private readonly pCache = chartPanel('chart-cache', 'Prompt-cache efficiency by feature', 'Actual cost beside the cost had every cached token been billed as fresh input.');
  private readonly pHist = chartPanel('chart-hist', 'Distribution of cost per call', 'How many calls cost how much, on a log scale.');
  private readonly histLegend = el('ul', { class: 'marker-legend' });
  private readonly charts = el('div', { class: 'charts' });
  /** In place of the charts when the view holds no call (five empty frames with made-up axes say nothing). */
  private readonly noCharts = el('p', { class: 'card no-charts' }, 'No calls in this range: no charts to draw.');
  private readonly timeChart: TimeChart;
  private readonly modelChart: RankChart;
  private readonly topChart: RankChart;
  private readonly cacheChart: CacheChart;
  private readonly histChart: HistogramChart;

  // Breakdown
  private readonly breakdownTitle = el('h2', { id: 'breakdown-title' }, 'Breakdown');
  private readonly table: BreakdownTable;

  constructor(
    private readonly root: HTMLElement,
    private readonly api: VsCodeApi,
    private ui: UiState,
  ) {
    this.themeNow = readTheme();
    applyChartTheme(this.themeNow);
    applyCssColors(this.themeNow);
    this.buildLayout();
    this.timeChart = new TimeChart(this.pTime.canvas, this);
    this.modelChart = new RankChart(this.pModel.canvas, this, { dim: () => 'model', rows: (s) => s.byModel, color: (t) => t.accent });
    this.topChart = new RankChart(this.pTop.canvas, this, { dim: (s) => s.topDim, rows: (s) => s.top, color: (t) => t.accent });
    this.cacheChart = new CacheChart(this.pCache.canvas, this);
    this.histChart = new HistogramChart(this.pHist.canvas, this);
    this.table = new BreakdownTable(
      {
        narrow: (v) => this.snap && this.narrow(this.snap.query.groupBy, v),
        revealInTree: (v) => this.snap && this.api.postMessage({ type: 'revealInTree', filters: this.withFilter(this.snap.query.groupBy, v) }),
        openCostliest: (v) => this.snap && this.api.postMessage({ type: 'openCostliest', filters: this.withFilter(this.snap.query.groupBy, v) }),
        sortChanged: (s: SortState) => this.save({ sort: s }),
        swatch: (k) => this.colors.get(k),
      },
      ui.sort ?? { key: 'costUsd', dir: 'desc' },
    );
    this.breakdownHost.appendChild(this.table.element);
  }

  private readonly breakdownHost = el('div', { class: 'table-scroll' });
  private readonly scrollHint = el('p', { class: 'scroll-hint' }, 'Scroll sideways for more columns →');

  // ChartHost
  theme(): Theme {
    return this.themeNow;
  }

  seriesColor(key: string): string {
    return this.colors.get(key) ?? this.themeNow.other;
  }

  /**
   * Narrows the view to `dim = value` (replacing a filter on the same dimension). Filtering by the dimension the view
   * is grouped by drills down, as the tree's next level does: the grouping moves on to the next dimension no filter
   * fixes, instead of leaving a one-row breakdown and a one-colour chart.
   */
  narrow(dim: string, value: string): void {
    if (!this.query || value === '(other)' || value.length > MAX_VALUE) return;
    const filters = this.withFilter(dim, value);
    if (filters.length > MAX_FILTERS) return;
    const groupBy = dim === this.query.groupBy ? nextGroupBy(this.snap?.dims ?? [], dim, filters) : this.query.groupBy;
    this.setQuery({ ...this.query, groupBy, filters });
  }

  private withFilter(dim: string, value: string): DashboardFilter[] {
    const current = this.query?.filters ?? [];
    return [...current.filter((f) => f.dim !== dim), { dim, value }];
  }

  private setQuery(q: DashboardQuery): void {
    this.query = q;
    this.save({ query: q });
    this.syncControls();
    this.pending = q;
    this.setLoading(true);
    this.api.postMessage({ type: 'setQuery', query: q });
  }

  /** The host took up a query (`loading: true`) or has nothing more to send (`false`). */
  hostLoading(loading: boolean): void {
    this.pending = undefined;
    this.setLoading(loading);
  }

  /** A request failed on the host: say why, and stop saying "Updating…" when it was the figures. */
  showFailure(f: DashboardFailure): void {
    if (f.request === 'snapshot') {
      this.pending = undefined;
      this.setLoading(false);
      // The controls go back to the query of the figures on screen.
      if (this.snap) {
        this.query = this.snap.query;
        this.save({ query: this.snap.query });
        this.syncControls();
      }
    }
    if (f.request === 'whatIf') this.showWhatIf(undefined, failureLine(f));
    const dismiss = el('button', { type: 'button', class: 'secondary dismiss' }, 'Dismiss');
    dismiss.addEventListener('click', () => this.clearFailure());
    const line = failureLine(f);
    setChildren(
      this.failure,
      el('span', { class: 'warning-icon', 'aria-hidden': 'true' }, '⚠'),
      el('div', {}, el('strong', {}, /[.!?…]$/.test(line) ? line : `${line}.`), f.request === 'snapshot' ? ' The figures below are from before.' : ''),
      dismiss,
    );
    this.failure.dataset.request = f.request;
    this.failure.hidden = false;
  }

  private clearFailure(request?: DashboardFailure['request']): void {
    if (request && this.failure.dataset.request !== request) return;
    this.failure.hidden = true;
    setChildren(this.failure);
    delete this.failure.dataset.request;
  }

  private run(command: DashboardCommand, models?: string[]): void {
    this.api.postMessage(models ? { type: 'command', command, models } : { type: 'command', command });
  }

  private save(patch: Partial<UiState>): void {
    this.ui = { ...this.ui, ...patch };
    this.api.setState(this.ui);
  }

  saveScroll(): void {
    if (this.restored) this.save({ scrollY: Math.round(window.scrollY) });
  }

  /** Busy while another query's figures are on the way: the figures dim, and "Updating…" shows (its room is kept). */
  setLoading(loading: boolean): void {
    this.content.setAttribute('aria-busy', String(loading));
    document.body.classList.toggle('is-loading', loading);
    setText(this.status, loading ? 'Updating…' : '');
  }

  onThemeChange(): void {
    this.themeNow = readTheme();
    applyChartTheme(this.themeNow);
    applyCssColors(this.themeNow);
    if (this.snap) this.render(this.snap);
  }

  private buildLayout(): void {
    for (const r of DASHBOARD_RANGES) this.rangeSelect.appendChild(el('option', { value: r }, RANGE_LABEL[r]));
    this.rangeSelect.addEventListener('change', () => this.onRangeChange());
    this.sinceInput.addEventListener('change', () => this.onCustomChange());
    this.untilInput.addEventListener('change', () => this.onCustomChange());
    this.groupSelect.addEventListener('change', () => {
      if (this.query && this.groupSelect.value) this.setQuery({ ...this.query, groupBy: this.groupSelect.value });
    });
    this.customBox.append(el('label', { for: 'since' }, 'From'), this.sinceInput, el('label', { for: 'until' }, 'to'), this.untilInput);

    const button = (text: string, cls: string, onClick: () => void, title?: string) => {
      const b = el('button', { type: 'button', class: cls, title }, text);
      b.addEventListener('click', onClick);
      return b;
    };
    const costliest = button('Open costliest calls', 'primary', () => this.query && this.api.postMessage({ type: 'openCostliest', filters: this.query.filters }), 'Open the costliest calls matching the current filters');
    const reveal = this.revealButton;
    reveal.addEventListener('click', () => this.query && this.query.filters.length > 0 && this.api.postMessage({ type: 'revealInTree', filters: this.query.filters }));
    const csv = button('Export CSV', 'secondary', () => this.api.postMessage({ type: 'export', format: 'csv' }));
    const md = button('Export Markdown', 'secondary', () => this.api.postMessage({ type: 'export', format: 'markdown' }));

    const header = el(
      'header',
      { class: 'top' },
      el('div', { class: 'title' }, el('h1', {}, 'LLM cost'), this.meta),
      el(
        'div',
        { class: 'toolbar' },
        el(
          'div',
          { class: 'controls' },
          el('label', { for: 'range' }, 'Time range'),
          this.rangeSelect,
          el('span', { class: 'range-scope', title: RANGE_SCOPE }, 'this dashboard only'),
          this.customBox,
          el('label', { for: 'groupBy' }, 'Group by'),
          this.groupSelect,
        ),
        el('div', { class: 'actions-bar' }, costliest, reveal, csv, md),
      ),
      el('div', { class: 'filters' }, el('span', { class: 'filters-label', 'aria-hidden': 'true' }, 'Filters'), this.chips, this.status),
    );

    this.whatIfBox.append(
      el('div', { class: 'whatif-form' }, el('label', { for: 'whatIfModel' }, 'What if these calls used'), this.whatIfSelect, this.whatIfButton),
      this.whatIfResult,
    );
    this.whatIfButton.addEventListener('click', () => {
      const model = this.whatIfSelect.value;
      if (!model) return;
      setText(this.whatIfResult, 'Re-pricing…');
      this.api.postMessage({ type: 'whatIf', model });
    });
    this.pModel.extra.appendChild(this.whatIfBox);
    this.pTime.extra.remove();
    this.pTop.extra.remove();
    this.pCache.extra.remove();
    this.pHist.extra.appendChild(this.histLegend);

    const cards = el('div', { class: 'cards' }, this.cTotal.root, this.cCalls.root, this.cPerCall.root, this.cCache.root, this.cUnattr.root);
    const charts = this.charts;
    charts.append(this.pTime.root, this.pModel.root, this.pTop.root, this.pCache.root, this.pHist.root);
    const breakdown = el(
      'section',
      { class: 'card breakdown-card', 'aria-labelledby': 'breakdown-title' },
      this.breakdownTitle,
      el('p', { class: 'chart-subtitle' }, 'Select a row to filter by it. Column headers sort.'),
      this.scrollHint,
      scrollFrame(this.breakdownHost, this.scrollHint),
    );
    this.failure.hidden = true;
    this.warning.hidden = true;
    this.emptyNote.hidden = true;
    this.signals.hidden = true;
    this.noCharts.hidden = true;
    setChildren(this.content, this.warning, this.emptyNote, cards, this.signals, this.noCharts, charts, breakdown);
    setChildren(this.root, header, this.failure, this.content);
    this.root.setAttribute('aria-busy', 'false');
  }

  private onRangeChange(): void {
    if (!this.query) return;
    const range = this.rangeSelect.value as DashboardRange;
    if (!DASHBOARD_RANGES.includes(range)) return;
    if (range === 'custom') {
      const s = this.snap;
      const until = s?.untilMs ?? s?.generatedAtMs ?? Date.now();
      const since = s?.sinceMs ?? until - 7 * DAY_MS;
      const sinceMs = Date.UTC(...ymd(isoDay(since)));
      const untilMs = Date.UTC(...ymd(isoDay(until - 1))) + DAY_MS;
      this.setQuery({ range, groupBy: this.query.groupBy, filters: this.query.filters, sinceMs, untilMs });
    } else {
      this.setQuery({ range, groupBy: this.query.groupBy, filters: this.query.filters });
    }
  }

  private onCustomChange(): void {
    if (!this.query) return;
    const a = this.sinceInput.value;
    const b = this.untilInput.value;
    if (!/^\d{4}-\d{2}-\d{2}$/.test(a) || !/^\d{4}-\d{2}-\d{2}$/.test(b)) return;
    const sinceMs = Date.UTC(...ymd(a));
    const untilMs = Date.UTC(...ymd(b)) + DAY_MS;
    const invalid = !(sinceMs < untilMs);
    this.untilInput.setCustomValidity(invalid ? 'The end date must be on or after the start date.' : '');
    this.untilInput.reportValidity();
    if (invalid) return;
    this.setQuery({ range: 'custom', groupBy: this.query.groupBy, filters: this.query.filters, sinceMs, untilMs });
  }

  /** Puts the query into the controls and the filter chips. */
  private syncControls(): void {
    const q = this.query;
    if (!q) return;
    this.rangeSelect.value = q.range;
    this.customBox.hidden = q.range !== 'custom';
    if (q.range === 'custom') {
      if (q.sinceMs !== undefined) this.sinceInput.value = isoDay(q.sinceMs);
      if (q.untilMs !== undefined) this.untilInput.value = isoDay(q.untilMs - 1);
    }
    const dims = this.snap?.dims ?? [];
    const wanted = dims.includes(q.groupBy) ? dims : [...dims, q.groupBy];
    if (this.groupSelect.options.length !== wanted.length || wanted.some((d, i) => this.groupSelect.options[i]?.value !== d)) {
      setChildren(this.groupSelect, ...wanted.map((d) => el('option', { value: d }, d)));
    }
    this.groupSelect.value = q.groupBy;

    const chips: HTMLElement[] = q.filters.map((f, i) => {
      const b = el('button', { type: 'button', class: 'chip-remove', 'aria-label': `Remove filter ${f.dim} = ${f.value}`, title: 'Remove this filter' }, '✕');
      b.addEventListener('click', () => this.query && this.setQuery({ ...this.query, filters: this.query.filters.filter((_, j) => j !== i) }));
      return el('li', { class: 'chip' }, el('span', { class: 'chip-dim' }, `${f.dim} =`), el('span', { class: 'chip-value' }, f.value), b);
    });
    if (q.filters.length > 1) {
      const clear = el('button', { type: 'button', class: 'link clear' }, 'Clear all');
      clear.addEventListener('click', () => this.query && this.setQuery({ ...this.query, filters: [] }));
      chips.push(el('li', {}, clear));
    }
    if (!q.filters.length) chips.push(el('li', { class: 'hint' }, 'None. Select a bar or a table row to narrow the view.'));
    setChildren(this.chips, ...chips);

    // The tree can only reveal a group: with no filter there is none, so the button says why instead of doing nothing.
    const none = q.filters.length === 0;
    this.revealButton.setAttribute('aria-disabled', String(none));
    this.revealButton.title = none ? REVEAL_NONE : REVEAL_SOME;
  }

  /** Draws a snapshot (a new query, or a live update of the same one: scroll and sort are kept either way). */
  render(s: DashboardSnapshot): void {
    // Figures of the query shown before the user's choice reached the host (a live update on its way): the choice
    // stays in the controls and the page stays busy; the host's `loading` and then the answer follow.
    if (this.pending && !sameQuery(this.pending, s.query)) return;
    this.pending = undefined;
    const first = !this.snap;
    const prevQuery = this.snap?.query;
    this.snap = s;
    let restoring = false;
    if (first && this.ui.query && !sameQuery(this.ui.query, s.query)) {
      // Restored after a reload: ask again for the query the user last had (its snapshot follows).
      this.query = this.ui.query;
      this.pending = this.ui.query;
      this.api.postMessage({ type: 'setQuery', query: this.ui.query });
      restoring = true;
    } else {
      this.query = s.query;
      this.save({ query: s.query });
    }
    this.colors = seriesColors(
      s.series.stacks.map((st) => st.key),
      this.themeNow,
    );
    this.syncControls();
    this.renderHeader(s);
    this.renderCards(s);
    this.renderCharts(s);
    this.renderSignals(s, first || !sameQuery(prevQuery ?? s.query, s.query));
    this.breakdownTitle.textContent = `Breakdown by ${s.query.groupBy}`;
    this.table.update(s.table, s.query.groupBy);
    this.setLoading(restoring);
    this.clearFailure('snapshot');
    if (first) {
      if (this.ui.scrollY) window.scrollTo(0, this.ui.scrollY);
      this.restored = true;
    }
  }

  private renderHeader(s: DashboardSnapshot): void {
    setText(
      this.meta,
      `Dashboard range: ${RANGE_LABEL[s.query.range] ?? s.query.range} · ${boundsLabel(s)} · ${plural(s.files, 'trace file')} · updated ${dateTimeUtc(s.generatedAtMs)}`,
    );
    this.renderUnpriced(s);
    this.renderEmpty(s);
  }

  /** Calls left out of the costs for want of a price (or, with the recorded source, of a recorded cost). */
  private renderUnpriced(s: DashboardSnapshot): void {
    this.warning.hidden = s.unpriced.length === 0;
    // Redrawn only when it changes: a live update does not make it read out again.
    const key = JSON.stringify([s.unpriced, s.env?.pricesFile, s.env?.costSource]);
    if (!s.unpriced.length || key === this.warningKey) return;
    this.warningKey = key;
    const unpricedCalls = s.unpriced.reduce((a, u) => a + u.calls, 0);
    const list = el('ul', { class: 'unpriced-list' });
    for (const u of s.unpriced) list.appendChild(el('li', {}, el('code', {}, u.model), ` — ${plural(u.calls, 'call')}${u.reason ? ` · ${u.reason}` : ''}`));
    const recorded = s.env?.costSource === 'recorded';
    const pricesFile = s.env ? s.env.pricesFile : '.llm-cost-lens/prices.json';
    let advice: (Node | string)[];
    let action: HTMLButtonElement | undefined;
    if (recorded) {
      advice = [
        ' The cost source is ',
        el('code', {}, 'recorded'),
        ': only costs written in the records count, and prices do not change that. Set ',
        el('code', {}, 'llmCostLens.costSource'),
        ' to ',
        el('code', {}, 'auto'),
        ' to price these calls from their token counts.',
      ];
      action = this.actionButton('Open Settings', () => this.run('openSettings'));
    } else if (pricesFile) {
      advice = [' Add their prices (USD per million tokens) to ', el('code', {}, pricesFile), '.'];
      const models = s.unpriced.map((u) => u.model).filter((m) => m !== '' && m.length <= 200).slice(0, 50);
      action = this.actionButton('Open prices file', () => this.run('openPricesFile', models), `Open ${pricesFile}, with an entry to fill in for each model listed`);
    } else {
      advice = [' Open a folder, or set ', el('code', {}, 'llmCostLens.pricesFile'), ', to keep their prices in a prices file.'];
    }
    setChildren(
      this.warning,
      el('span', { class: 'warning-icon', 'aria-hidden': 'true' }, '⚠'),
      el(
        'div',
        {},
        el(
          'strong',
          {},
          recorded
            ? `${plural(unpricedCalls, 'call has', 'calls have')} no recorded cost: not included in the costs below.`
            : `${plural(unpricedCalls, 'call uses a model', 'calls use models')} with no price: not included in the costs below.`,
        ),
        ...advice,
        list,
        action ? noteActions(action) : undefined,
      ),
    );
  }

  private actionButton(text: string, onClick: () => void, title?: string): HTMLButtonElement {
    const b = el('button', { type: 'button', class: 'secondary', title }, text);
    b.addEventListener('click', onClick);
    return b;
  }

  /** Why the view holds no call, and what to do: no trace file, nothing in this range, nothing matching the filters. */
  private renderEmpty(s: DashboardSnapshot): void {
    this.emptyNote.hidden = s.total.calls > 0;
    if (this.emptyNote.hidden) return;
    const q = s.query;
    const filtered = q.filters.length > 0;
    const all = s.allTime;
    const actions: HTMLButtonElement[] = [];
    const allTime = () => this.actionButton('Show all time', () => this.query && this.setQuery({ range: 'all', groupBy: this.query.groupBy, filters: this.query.filters }));
    const clear = () => this.actionButton('Clear filters', () => this.query && this.setQuery({ ...this.query, filters: [] }));
    const inRange = q.range === 'custom' ? 'in this range' : `in the ${RANGE_LABEL[q.range].toLowerCase()}`;
    let title: string;
    const body: (Node | string)[] = [];
    if (s.files === 0) {
      title = 'No trace files found.';
      const globs = s.env?.traceFiles ?? [];
      if (globs.length) {
        body.push('LLM Cost Lens reads the files matching ', el('code', {}, 'llmCostLens.traceFiles'), ': ');
        globs.forEach((g, i) => body.push(i ? ', ' : '', el('code', {}, g)));
        body.push('. ');
      } else {
        body.push('No trace file is set to be read: ', el('code', {}, 'llmCostLens.traceFiles'), ' is empty. ');
      }
      body.push('Change the setting to match your JSON Lines traces, pick a file, or run Analyze This File on a .jsonl file (its context menu in the Explorer).');
      actions.push(
        this.actionButton('Analyze Trace File…', () => this.run('pickFile')),
        this.actionButton('Open Settings', () => this.run('openSettings')),
        this.actionButton('Write a Sample Trace', () => this.run('writeSample')),
      );
    } else if (!all) {
      title = 'No calls match this range and these filters.';
    } else if (all.calls > 0 && all.latestMs !== null) {
      title = `No calls ${filtered ? 'match these filters ' : ''}${inRange}.`;
      body.push(`The latest ${filtered ? 'matching ' : ''}call was on ${dateTimeUtc(all.latestMs)} (${plural(all.calls, filtered ? 'matching call' : 'call')} over all time).`);
      actions.push(allTime());
    } else if (all.calls > 0) {
      title = `No dated calls ${filtered ? 'match these filters ' : ''}${inRange}.`;
      body.push(`${plural(all.calls, 'call has', 'calls have')} no timestamp, so ${all.calls === 1 ? 'it shows' : 'they show'} only under All time.`);
      actions.push(allTime());
    } else if (filtered) {
      title = 'No calls match these filters at any time.';
      actions.push(clear());
    } else {
      title = `The ${plural(s.files, 'trace file')} hold${s.files === 1 ? 's' : ''} no LLM calls yet.`;
      body.push('Lines that could not be read as LLM calls are listed in the LLM Cost Lens output.');
      actions.push(this.actionButton('Show Output', () => this.run('showOutput')));
    }
    setChildren(this.emptyNote, el('p', {}, el('strong', {}, title), body.length ? ' ' : '', ...body), actions.length ? noteActions(...actions) : undefined);
  }

  /** Shows the answer to a what-if the user asked for. */
  showWhatIf(answer: WhatIfAnswer | undefined, error: string | undefined): void {
    this.whatIfResult.classList.toggle('error', !answer);
    setText(this.whatIfResult, answer ? answer.text : (error ?? 'No answer.'));
  }

  /** Budgets' burn and anomalies of the view, when the host sends them; the what-if form under "Cost by model". */
  private renderSignals(s: DashboardSnapshot, newQuery: boolean): void {
    const sig = s.signals;
    const models = sig?.whatIfModels ?? [];
    this.whatIfBox.hidden = models.length === 0;
    if (models.length && (this.whatIfSelect.options.length !== models.length || models.some((m, i) => this.whatIfSelect.options[i]?.value !== m))) {
      const keep = this.whatIfSelect.value;
      setChildren(this.whatIfSelect, ...models.map((m) => el('option', { value: m }, m)));
      if (models.includes(keep)) this.whatIfSelect.value = keep;
    }
    if (newQuery) setText(this.whatIfResult, '');

    // Shown whenever the host sends signals, empty or not: an empty section says what it would hold.
    this.signals.hidden = !sig;
    if (!sig) return;
    const { budgets, anomalies } = sig;
    const parts: HTMLElement[] = [];
    if (!budgets.length) {
      const settings = el('button', { type: 'button', class: 'link' }, 'Open Settings');
      settings.addEventListener('click', () => this.run('openSettings'));
      parts.push(
        el(
          'div',
          {},
          el('h3', {}, 'Budgets'),
          el('p', { class: 'signals-empty' }, 'No budgets set. Set ', el('code', {}, 'llmCostLens.budgets'), ' to follow spend against a daily or monthly limit. ', settings),
        ),
      );
    } else {
      const list = el('ul', { class: 'budgets' });
      for (const b of budgets) {
        const bar = el('span', { class: 'meter-bar' });
        bar.style.width = `${Math.max(0, Math.min(100, b.usedShare * 100)).toFixed(1)}%`;
        list.appendChild(
          el(
            'li',
            { class: `budget level-${b.level}` },
            el('span', { class: 'budget-label' }, b.label),
            el('span', { class: 'meter', role: 'img', 'aria-label': `${formatPct(b.usedShare)} used` }, bar),
            el('span', { class: 'budget-text' }, b.text),
          ),
        );
      }
      parts.push(el('div', {}, el('h3', {}, 'Budgets'), list));
    }
    // Anomalies of the days up to the latest call when none is recent (a trace of last week): said so, with the time.
    const at = sig.anomaliesAtMs;
    const upTo = at !== undefined && sig.anomalyWindowDays ? `in the ${plural(sig.anomalyWindowDays, 'day')} up to ${dateTimeUtc(at)} (no call since)` : undefined;
    if (!anomalies.length) {
      const days = sig.anomalyWindowDays;
      const latest = s.latestMs ?? null;
      const parts2 = [upTo ? `No anomalies ${upTo}` : days ? `No anomalies in the last ${plural(days, 'day')}` : 'No anomalies'];
      const whose = s.query.filters.length || s.query.range === 'custom' ? 'latest call in this view' : 'latest call';
      if (latest !== null) parts2.push(`${whose} ${timeAgo(latest, s.generatedAtMs)}`);
      parts.push(el('div', {}, el('h3', {}, 'Anomalies'), el('p', { class: 'signals-empty' }, parts2.join(' · '))));
    } else {
      const list = el('ul', { class: 'anomalies' });
      for (const a of anomalies.slice(0, 5)) {
        const when = el('span', { class: 'when' }, a.startMs ? dateTimeUtc(a.startMs) : '');
        const canNarrow = a.dim !== '' && a.key !== '' && a.key !== '(other)';
        const text: HTMLElement = canNarrow ? el('button', { type: 'button', class: 'link', title: `Show only ${a.dim} = ${a.key}` }, a.text) : el('span', {}, a.text);
        if (canNarrow) text.addEventListener('click', () => this.narrow(a.dim, a.key));
        list.appendChild(el('li', {}, el('span', { class: 'anomaly-icon', 'aria-hidden': 'true' }, '▲'), el('span', {}, text, ' ', when)));
      }
      if (anomalies.length > 5) list.appendChild(el('li', { class: 'more' }, `and ${formatCount(anomalies.length - 5)} more`));
      parts.push(el('div', {}, el('h3', {}, `Anomalies (${formatCount(anomalies.length)})`), upTo ? el('p', { class: 'signals-note' }, `${upTo[0].toUpperCase()}${upTo.slice(1)}.`) : undefined, list));
    }
    setChildren(this.signals, el('h2', { id: 'signals-title', class: 'visually-hidden' }, 'Signals'), ...parts);
  }

  private renderCards(s: DashboardSnapshot): void {
    const t = s.total;
    // With no call in the view there is nothing to measure: "—" and "no calls", not $0.00, 0% or a -100% "saving".
    const none = t.calls === 0;
    setText(this.cTotal.value, none ? '—' : formatGroupCost(t));
    const prev = s.previous;
    const previous = previousLabel(s.query);
    let change: HTMLElement;
    if (none) {
      const text = !prev
        ? 'No calls.'
        : prev.calls === 0
          ? `No calls in ${previous} either.`
          : `${previous.charAt(0).toUpperCase()}${previous.slice(1)}: ${prev.costUsd > 0 ? `${formatUsd(prev.costUsd)} (${plural(prev.calls, 'call')})` : plural(prev.calls, 'call')}.`;
      change = el('p', { class: 'change neutral' }, text);
    } else if (!prev) {
      change = el('p', { class: 'change none' }, 'No previous period to compare with (all time).');
    } else if (!(prev.costUsd > 0)) {
      change = el('p', { class: 'change none' }, `No spend in ${previous} (${plural(prev.calls, 'call')}), so no % change.`);
    } else if (t.pricedCalls === 0) {
      change = el('p', { class: 'change none' }, `No priced call in this range, so no % change (${previous}: ${formatUsd(prev.costUsd)}).`);
    } else {
      const r = (t.costUsd - prev.costUsd) / prev.costUsd;
      const up = r > 0.0005;
      const down = r < -0.0005;
      change = el(
        'p',
        { class: `change ${up ? 'up' : down ? 'down' : 'flat'}` },
        el('span', { class: 'delta' }, `${up ? '▲ +' : down ? '▼ ' : ''}${formatPct(r)}`),
        ` vs ${previous} (${formatUsd(prev.costUsd)})`,
      );
    }
    setChildren(this.cTotal.detail, change);

    setText(this.cCalls.value, formatCount(t.calls));
    if (none) setChildren(this.cCalls.detail, el('p', {}, 'no calls in this range'));
    else
      setChildren(
        this.cCalls.detail,
        el('p', {}, `${formatCount(t.pricedCalls)} priced · `, el('span', { class: t.unpricedCalls ? 'warn-text' : undefined }, `${formatCount(t.unpricedCalls)} unpriced`)),
        el('p', {}, `${plural(t.errors, 'error')} (${formatPct(t.errors / t.calls)})`),
      );

    // With no call there is no cost per call (not an unpriced one).
    const perCall = (v: number | null) => (t.calls === 0 ? '—' : formatUsd(v));
    setText(this.cPerCall.value, perCall(t.meanUsd));
    const dl = el('dl', { class: 'pcts' });
    for (const [k, v] of [
      ['p50', t.p50Usd],
      ['p95', t.p95Usd],
      ['p99', t.p99Usd],
    ] as const) {
      dl.append(el('div', {}, el('dt', {}, k), el('dd', {}, perCall(v))));
    }
    setChildren(this.cPerCall.detail, el('p', { class: 'unit' }, none ? 'no calls' : `mean of ${plural(t.pricedCalls, 'priced call')}`), dl);

    setText(this.cCache.value, none ? '—' : formatPct(t.cacheHitRatio));
    setChildren(
      this.cCache.detail,
      el('p', { class: 'unit' }, none ? 'no calls: no input tokens' : 'of input tokens read from cache'),
      none
        ? undefined
        : t.pricedCalls === 0
          ? el('p', {}, 'Savings unknown: no call is priced')
          : !savingsKnown(t)
            ? el('p', {}, `Savings unknown: ${plural(t.pricedCalls - t.listPricedCalls, 'priced call')} with only a recorded cost (no list price)`)
            : el('p', {}, 'Saved ', el('strong', { class: 'good' }, formatUsd(t.cacheSavingsUsd)), ` · ${formatUsd(t.costWithoutCacheUsd)} without cache`),
    );

    setText(this.cUnattr.value, none ? '—' : formatPct(s.unattributedShare));
    setChildren(this.cUnattr.detail, el('p', { class: 'unit' }, none ? 'no calls: no cost to attribute' : `of the cost has no ${s.query.groupBy}`));
    this.cUnattr.root.classList.toggle('attention', !none && s.unattributedShare >= 0.1);
    // A filter on the grouping dimension leaves no call without it (or only such calls): the card would say 0% or 100%.
    this.cUnattr.root.hidden = s.query.filters.some((f) => f.dim === s.query.groupBy);
  }

  private renderCharts(s: DashboardSnapshot): void {
    const g = s.query.groupBy;
    this.charts.hidden = s.total.calls === 0;
    this.noCharts.hidden = !this.charts.hidden;
    setText(this.pTime.subtitle, `${s.bucket === 'day' ? 'Daily' : 'Hourly'} cost (UTC), stacked by ${g}. Select a segment to filter by it.`);
    this.timeChart.update(s);
    setText(this.pTop.root.querySelector('h2') as HTMLElement, `Top ${Math.min(10, s.top.length) || 10} ${s.topDim}s by spend`);
    setText(this.pTop.subtitle, `Select a bar to filter by ${s.topDim}.`);
    // Charts side by side get the same height, which grows with their number of bars.
    const rankH = boxHeight(Math.max(s.byModel.length, s.top.length), 28);
    const cacheH = Math.max(300, boxHeight(s.cacheByFeature.length, 46));
    for (const [box, h] of [
      [this.pModel.box, rankH],
      [this.pTop.box, rankH],
      [this.pCache.box, cacheH],
      [this.pHist.box, cacheH],
    ] as const) {
      if (box.style.height !== `${h}px`) box.style.height = `${h}px`;
    }
    this.modelChart.update(s);
    this.topChart.update(s);
    this.cacheChart.update(s);
    this.histChart.update(s);

    const h = s.histogram;
    setChildren(
      this.histLegend,
      ...(
        [
          ['p50', h.p50Usd, 'p50'],
          ['p95', h.p95Usd, 'p95'],
          ['p99', h.p99Usd, 'p99'],
        ] as const
      ).map(([name, v, cls]) => el('li', {}, el('span', { class: `marker-swatch ${cls}`, 'aria-hidden': 'true' }), el('strong', {}, name), ` ${s.total.calls === 0 ? 'no calls' : formatUsd(v)}`)),
    );
    for (const sw of this.histLegend.querySelectorAll<HTMLElement>('.marker-swatch')) {
      const c = sw.classList.contains('p50') ? this.themeNow.p50 : sw.classList.contains('p95') ? this.themeNow.p95 : this.themeNow.p99;
      sw.style.borderColor = c;
    }

    // Table equivalents (for screen readers and for copying figures).
    const stacks = s.series.stacks;
    setChildren(
      this.pTime.tableBox,
      simpleTable(
        `Cost per ${s.bucket} (UTC) by ${g}`,
        [s.bucket === 'day' ? 'Day (UTC)' : 'Hour (UTC)', ...stacks.map((st) => st.key), 'Total'],
        s.series.startsMs.map((ms, i) => [
          bucketLong(ms, s.bucket),
          ...stacks.map((st) => formatUsd(st.costUsd[i] ?? 0)),
          formatUsd(stacks.reduce((a, st) => a + (st.costUsd[i] ?? 0), 0)),
        ]),
      ),
    );
    const rankTable = (caption: string, head: string, rows: DashboardSnapshot['byModel']) =>
      simpleTable(caption, [head, 'Cost', 'Share', 'Calls', 'p50 / call', 'p95 / call'], rows.map((r) => [r.key, formatGroupCost(r), formatPct(r.share), formatCount(r.calls), formatUsd(r.p50Usd), formatUsd(r.p95Usd)]));
    setChildren(this.pModel.tableBox, rankTable('Cost by model', 'Model', s.byModel));
    setChildren(this.pTop.tableBox, rankTable(`Top ${s.topDim}s by spend`, s.topDim, s.top));
    setChildren(
      this.pCache.tableBox,
      simpleTable(
        'Prompt-cache efficiency by feature',
        ['Feature', 'Cost with cache', 'Cost without cache', CACHE_HIT_RATIO, 'Saved'],
        s.cacheByFeature.map((r) => {
          const usd = (v: number) => formatGroupCost({ calls: r.calls, pricedCalls: r.pricedCalls, costUsd: v });
          // Some calls priced by their recorded cost only: no list price, so no cost without cache to compare.
          const known = (v: number) => (savingsKnown(r) ? usd(v) : 'unknown');
          return [r.key, usd(r.costUsd), known(r.costWithoutCacheUsd), formatPct(r.hitRatio), known(r.savingsUsd)];
        }),
      ),
    );
    const total = h.counts.reduce((a, b) => a + b, 0);
    setChildren(
      this.pHist.tableBox,
      simpleTable(
        `Calls by cost per call (p50 ${formatUsd(h.p50Usd)}, p95 ${formatUsd(h.p95Usd)}, p99 ${formatUsd(h.p99Usd)})`,
        ['Cost per call', 'Calls', 'Share of calls'],
        h.counts.map((c, i) => [`${usdEdge(h.edgesUsd[i])} – ${usdEdge(h.edgesUsd[i + 1])}`, formatCount(c), formatPct(total ? c / total : 0)]),
      ),
    );
  }

}

/** The dimension after `current` in `dims` (wrapping round) that no filter fixes; `current` when there is none. */
export function nextGroupBy(dims: readonly string[], current: string, filters: readonly DashboardFilter[]): string {
  const fixed = new Set(filters.map((f) => f.dim));
  const i = dims.indexOf(current);
  for (let k = 1; k <= dims.length; k++) {
    const d = dims[(i + k) % dims.length];
    if (d !== current && !fixed.has(d)) return d;
  }
  return current;
}

/** Pixel height of a horizontal bar chart with `rows` bars. */
function boxHeight(rows: number, perRow: number): number {
  return Math.max(220, Math.min(640, rows * perRow + 80));
}

function ymd(s: string): [number, number, number] {
  const [y, m, d] = s.split('-').map(Number);
  return [y, m - 1, d];
}
