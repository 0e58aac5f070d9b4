/**
 * The dashboard's chart.js charts. Each one is created once and updated in place (animations off), so a new snapshot
 * or a theme change redraws in a few milliseconds. Trace text reaches the canvas only as labels.
 */
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  type ChartEvent,
  type ChartOptions,
  type Plugin,
  Legend,
  LinearScale,
  Tooltip,
  type TooltipItem,
} from 'chart.js';
import { formatPct, formatUsd, plural, savingsKnown } from '../core/format';
import type { CacheRow, DashboardSnapshot, GroupRow } from '../shared/protocol';
import { bucketLong, bucketTick, truncate, usdEdge, usdTick } from './labels';
import { labelColorOn, type Theme, withAlpha } from './theme';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip);

export interface ChartHost {
  theme(): Theme;
  /** Adds a filter `dim = value` (ignored for `(other)`). */
  narrow(dim: string, value: string): void;
  /** Colour of a key of the time series, shared with the breakdown table's swatches. */
  seriesColor(key: string): string;
}

/** Applies the theme to chart.js defaults; every chart reads them on its next update. */
export function applyChartTheme(t: Theme): void {
  Chart.defaults.animation = false;
  Chart.defaults.responsive = true;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.color = t.fg;
  Chart.defaults.borderColor = t.grid;
  Chart.defaults.font.family = t.fontFamily;
  Chart.defaults.font.size = Math.max(11, t.fontSize - 1);
  const tt = Chart.defaults.plugins.tooltip;
  tt.backgroundColor = t.tooltipBg;
  tt.titleColor = t.tooltipFg;
  tt.bodyColor = t.tooltipFg;
  tt.footerColor = t.tooltipFg;
  tt.borderColor = t.tooltipBorder;
  tt.borderWidth = 1;
  tt.padding = 8;
  tt.boxPadding = 4;
  Chart.defaults.plugins.legend.labels.color = t.fg;
}

const CLICKABLE = '(other)';

/** The one name of the cache metric (share of input tokens read from the prompt cache) all over the dashboard. */
export const CACHE_HIT_RATIO = 'Cache hit ratio';

/**
 * Redraws after a data or theme change. Not `update('none')`: in that mode chart.js keeps the element options it
 * shared on the first draw, so bar colours would not follow a theme switch. Animations are off, so this is synchronous.
 */
function redraw(c: { update(): void }): void {
  c.update();
}

type Loose = Record<string, unknown>;

/**
 * Makes the axes' colours read the current theme when drawn (scriptable options): chart.js keeps resolved scale
 * colours from the defaults of the first draw, so setting `Chart.defaults` again is not enough after a theme switch.
 */
function themeAxes(chart: { config: { options?: unknown } }, host: ChartHost): void {
  const scales = (chart.config.options as { scales?: Record<string, Loose> }).scales ?? {};
  for (const scale of Object.values(scales)) {
    const part = (k: string) => (scale[k] = { ...((scale[k] as Loose | undefined) ?? {}) }) as Loose;
    part('ticks').color = () => host.theme().fg;
    part('title').color = () => host.theme().fg;
    part('grid').color = () => host.theme().grid;
    part('border').color = () => host.theme().grid;
  }
}

function setCursor(e: ChartEvent, chart: Chart, clickable: (datasetIndex: number, index: number) => boolean, mode: 'nearest' | 'index') {
  const native = e.native;
  if (!native) return;
  const hit = chart.getElementsAtEventForMode(native, mode, { intersect: mode === 'nearest', axis: chart.options.indexAxis === 'y' ? 'y' : 'x' }, false)[0];
  chart.canvas.style.cursor = hit && clickable(hit.datasetIndex, hit.index) ? 'pointer' : 'default';
}

function clicked(e: ChartEvent, chart: Chart, mode: 'nearest' | 'index') {
  const native = e.native;
  if (!native) return undefined;
  return chart.getElementsAtEventForMode(native, mode, { intersect: mode === 'nearest', axis: chart.options.indexAxis === 'y' ? 'y' : 'x' }, false)[0];
}

/** Replaces the datasets' contents in place (keeps chart.js's per-dataset state such as legend visibility). */
function setDatasets<T extends object>(target: T[], next: T[]): void {
  target.length = Math.min(target.length, next.length);
  next.forEach((d, i) => {
    if (target[i]) Object.assign(target[i], d);
    else target[i] = d;
  });
}

function usdAxis(title: string): NonNullable<ChartOptions<'bar'>['scales']>['x'] {
  return {
    type: 'linear',
    beginAtZero: true,
    ticks: { callback: (v) => usdTick(Number(v)), maxTicksLimit: 7 },
    title: { display: true, text: title },
    grid: { drawTicks: false },
    border: { display: false },
  };
}

/** Draws a text after each bar of dataset 0 of a horizontal bar chart (value labels). */
function valueLabelPlugin(text: (index: number) => string, host: ChartHost): Plugin<'bar'> {
  return {
    id: 'valueLabels',
    afterDatasetsDraw(chart) {
      const meta = chart.getDatasetMeta(0);
      if (meta.hidden) return;
      const t = host.theme();
      const { ctx, chartArea } = chart;
      ctx.save();
      ctx.font = `${Math.max(11, t.fontSize - 1)}px ${t.fontFamily}`;
      ctx.fillStyle = t.fg;
      ctx.textBaseline = 'middle';
      const placed: { bar: number[]; label: number[] }[] = [];
      meta.data.forEach((bar, i) => {
        const { x, y, base } = bar.getProps(['x', 'y', 'base'], true) as { x: number; y: number; base: number };
        const s = text(i);
        const w = ctx.measureText(s).width;
        // After the bar while it fits the plot; else inside the bar's end, in a colour that reads on the bar; else
        // after it anyway, into the chart's right padding (a bar too short to hold its label ends far from the edge).
        const inside = x + 6 + w > chartArea.right && x - base >= w + 12;
        const label = inside ? [x - 6 - w, x - 6] : [x + 6, x + 6 + w];
        ctx.textAlign = 'left';
        ctx.fillStyle = inside ? textOn(String(bar.options.backgroundColor), t) : t.fg;
        ctx.fillText(s, label[0], y);
        placed.push({ bar: [base, x], label });
      });
      ctx.restore();
      // Where the labels went, for the webview tests (CSS pixels of the canvas).
      chart.canvas.dataset.valueLabels = JSON.stringify({ width: chart.width, labels: placed });
    },
  };
}

/** Black or white, whichever reads better on `color` (a bar's fill); the theme's foreground for other colours. */
function textOn(color: string, t: Theme): string {
  return labelColorOn(color, t.bg) ?? t.fg;
}

/** Cost over time, stacked by the group-by dimension. */
export class TimeChart {
  readonly chart: Chart<'bar', number[], string | string[]>;
  private snap: DashboardSnapshot | undefined;

  constructor(canvas: HTMLCanvasElement, private readonly host: ChartHost) {
    const clickable = (ds: number) => this.snap?.series.stacks[ds]?.key !== CLICKABLE;
    this.chart = new Chart(canvas, {
      type: 'bar',
      data: { labels: [], datasets: [] },
      options: {
        interaction: { mode: 'index', intersect: false },
        scales: {
          x: { stacked: true, grid: { display: false }, ticks: { maxRotation: 0, autoSkip: true, autoSkipPadding: 12 }, title: { display: true, text: 'Day (UTC)' } },
          y: { ...usdAxis('Cost (USD)'), stacked: true },
        },
        plugins: {
          legend: { position: 'top', align: 'start', labels: { boxWidth: 12, boxHeight: 12, padding: 14 } },
          tooltip: {
            filter: (item) => item.parsed.y !== 0,
            itemSort: (a, b) => b.datasetIndex - a.datasetIndex,
            callbacks: {
              title: (items) => (this.snap && items[0] ? bucketLong(this.snap.series.startsMs[items[0].dataIndex], this.snap.bucket) : ''),
              label: (item) => ` ${item.dataset.label ?? ''}: ${formatUsd(item.parsed.y)}`,
              footer: (items) => {
                const i = items[0]?.dataIndex;
                if (i === undefined || !this.snap) return '';
                return `Total: ${formatUsd(this.snap.series.stacks.reduce((a, s) => a + (s.costUsd[i] ?? 0), 0))}`;
              },
            },
          },
        },
        onHover: (e, _els, chart) => setCursor(e, chart, clickable, 'nearest'),
        onClick: (e, _els, chart) => {
          const hit = clicked(e, chart, 'nearest');
          const key = hit && this.snap?.series.stacks[hit.datasetIndex]?.key;
          if (key !== undefined && this.snap) this.host.narrow(this.snap.query.groupBy, key);
        },
      },
    });
    themeAxes(this.chart, host);
  }

  update(s: DashboardSnapshot): void {
    this.snap = s;
    const t = this.host.theme();
    const c = this.chart;
    c.data.labels = s.series.startsMs.map((ms, i) => bucketTick(ms, s.bucket, i === 0));
    setDatasets(
      c.data.datasets,
      s.series.stacks.map((st) => ({
        label: truncate(st.key),
        data: st.costUsd,
        backgroundColor: this.host.seriesColor(st.key),
        hoverBackgroundColor: withAlpha(this.host.seriesColor(st.key), 0.8),
        borderColor: t.bg,
        borderWidth: { top: 1, bottom: 0, left: 0, right: 0 },
        borderSkipped: 'start' as const,
        maxBarThickness: 56,
        stack: 'cost',
      })),
    );
    const x = c.options.scales?.x;
    if (x?.title) x.title.text = s.bucket === 'day' ? 'Day (UTC)' : 'Hour (UTC)';
    redraw(c);
  }
}

interface RankSpec {
  dim: (s: DashboardSnapshot) => string;
  rows: (s: DashboardSnapshot) => GroupRow[];
  color: (t: Theme) => string;
}

/** A horizontal bar chart of groups by cost (cost by model, top 10 users), with the cost and share after each bar. */
export class RankChart {
  readonly chart: Chart<'bar', number[], string>;
  private snap: DashboardSnapshot | undefined;
  private rows: GroupRow[] = [];

  constructor(canvas: HTMLCanvasElement, private readonly host: ChartHost, private readonly spec: RankSpec) {
    const clickable = (_ds: number, i: number) => this.rows[i] !== undefined && this.rows[i].key !== CLICKABLE;
    this.chart = new Chart(canvas, {
      type: 'bar',
      data: { labels: [], datasets: [] },
      options: {
        indexAxis: 'y',
        interaction: { mode: 'index', intersect: false, axis: 'y' },
        layout: { padding: { right: 8 } },
        scales: {
          x: { ...usdAxis('Cost (USD)'), grace: '28%' },
          y: { grid: { display: false }, ticks: { autoSkip: false } },
        },
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: {
              title: (items) => this.rows[items[0]?.dataIndex ?? -1]?.key ?? '',
              label: (item) => {
                const r = this.rows[item.dataIndex];
                if (!r) return '';
                return [` ${rankValue(r)}`, ` ${plural(r.calls, 'call')} · p50 ${formatUsd(r.p50Usd)} · p95 ${formatUsd(r.p95Usd)}`];
              },
            },
          },
        },
        onHover: (e, _els, chart) => setCursor(e, chart, clickable, 'index'),
        onClick: (e, _els, chart) => {
          const hit = clicked(e, chart, 'index');
          const r = hit && this.rows[hit.index];
          if (r && this.snap) this.host.narrow(this.spec.dim(this.snap), r.key);
        },
      },
      plugins: [valueLabelPlugin((i) => (this.rows[i] ? rankValue(this.rows[i]) : ''), host)],
    });
    themeAxes(this.chart, host);
  }

  update(s: DashboardSnapshot): void {
    this.snap = s;
    this.rows = this.spec.rows(s);
    const color = this.spec.color(this.host.theme());
    const c = this.chart;
    c.data.labels = this.rows.map((r) => truncate(r.key));
    setDatasets(c.data.datasets, [
      {
        label: 'Cost',
        data: this.rows.map((r) => r.costUsd),
        backgroundColor: this.rows.map((r) => (r.key.startsWith('(') ? this.host.theme().unattributed : color)),
        hoverBackgroundColor: withAlpha(color, 0.8),
        borderRadius: 2,
        maxBarThickness: 22,
      },
    ]);
    redraw(c);
  }
}

/** `$15.71 · 55%`, or `unpriced · 1 call` for a group with no priced call. */
export function rankValue(r: GroupRow): string {
  if (noPricedCall(r)) return `unpriced · ${plural(r.calls, 'call')}`;
  return `${formatUsd(r.costUsd)} · ${formatPct(r.share)}`;
}

/** `12% hit ratio · saved $0.68`, or `12% hit ratio · unpriced` for a feature with no priced call (its savings are unknown). */
export function cacheLabel(r: CacheRow): string {
  return `${formatPct(r.hitRatio)} hit ratio · ${cacheSaved(r)}`;
}

/**
 * `saved $0.68`; `unpriced` when the feature has calls and none priced; `savings unknown` when some of its priced
 * calls have only a recorded cost (no list price: what they would have cost without the cache is not known).
 */
function cacheSaved(r: CacheRow): string {
  if (noPricedCall(r)) return 'unpriced';
  return savingsKnown(r) ? `saved ${formatUsd(r.savingsUsd)}` : 'savings unknown';
}

/** A group with calls and none priced: its USD figures are unknown, not 0. */
function noPricedCall(r: { calls: number; pricedCalls: number }): boolean {
  return r.calls > 0 && r.pricedCalls === 0;
}

/** Prompt-cache efficiency per feature: actual cost beside the cost without the cache, hit ratio and savings in the labels. */
export class CacheChart {
  readonly chart: Chart<'bar', number[], string[]>;
  private rows: CacheRow[] = [];

  constructor(canvas: HTMLCanvasElement, private readonly host: ChartHost) {
    const clickable = (_ds: number, i: number) => this.rows[i] !== undefined && this.rows[i].key !== CLICKABLE;
    this.chart = new Chart(canvas, {
      type: 'bar',
      data: { labels: [], datasets: [] },
      options: {
        indexAxis: 'y',
        interaction: { mode: 'index', intersect: false, axis: 'y' },
        scales: {
          x: { ...usdAxis('Cost (USD)') },
          y: { grid: { display: false }, ticks: { autoSkip: false } },
        },
        plugins: {
          legend: { position: 'top', align: 'start', labels: { boxWidth: 12, boxHeight: 12, padding: 14 } },
          tooltip: {
            callbacks: {
              title: (items) => this.rows[items[0]?.dataIndex ?? -1]?.key ?? '',
              label: (item: TooltipItem<'bar'>) => {
                const r = this.rows[item.dataIndex];
                if (r && noPricedCall(r)) return ` ${item.dataset.label ?? ''}: unpriced`;
                // Without cache: unknown when some calls have no list price (the bar is not drawn).
                if (r && item.datasetIndex === 1 && !savingsKnown(r)) return ` ${item.dataset.label ?? ''}: unknown (calls priced by their recorded cost only)`;
                return ` ${item.dataset.label ?? ''}: ${formatUsd(item.parsed.x)}`;
              },
              footer: (items) => {
                const r = this.rows[items[0]?.dataIndex ?? -1];
                return r ? `${CACHE_HIT_RATIO} ${formatPct(r.hitRatio)} · ${cacheSaved(r)}` : '';
              },
            },
          },
        },
        onHover: (e, _els, chart) => setCursor(e, chart, clickable, 'index'),
        onClick: (e, _els, chart) => {
          const hit = clicked(e, chart, 'index');
          const r = hit && this.rows[hit.index];
          if (r) this.host.narrow('feature', r.key);
        },
      },
    });
    themeAxes(this.chart, host);
  }

  update(s: DashboardSnapshot): void {
    const t = this.host.theme();
    this.rows = s.cacheByFeature;
    const c = this.chart;
    c.data.labels = this.rows.map((r) => [truncate(r.key), cacheLabel(r)]);
    setDatasets(c.data.datasets, [
      { label: 'With cache (actual)', data: this.rows.map((r) => r.costUsd), backgroundColor: t.accent, borderRadius: 2, maxBarThickness: 16, categoryPercentage: 0.75, barPercentage: 0.9 },
      { label: 'Without cache', data: this.rows.map((r) => (savingsKnown(r) ? r.costWithoutCacheUsd : NaN)), backgroundColor: t.other, borderColor: t.highContrast ? t.fg : t.other, borderWidth: t.highContrast ? 1 : 0, borderRadius: 2, maxBarThickness: 16, categoryPercentage: 0.75, barPercentage: 0.9 },
    ]);
    redraw(c);
  }
}

interface Marker {
  label: string;
  /** Position on the bucket axis (bucket i spans [i, i+1]). */
  pos: number;
  color: string;
}

/** Position of an amount on the bucket axis, interpolated on the log scale inside its bucket. */
export function bucketPos(edges: number[], v: number): number {
  const n = edges.length - 1;
  if (n < 1 || !(v > 0)) return 0;
  if (v <= edges[0]) return 0;
  if (v >= edges[n]) return n;
  for (let i = 0; i < n; i++) {
    if (v < edges[i + 1]) {
      const f = (Math.log(v) - Math.log(edges[i])) / (Math.log(edges[i + 1]) - Math.log(edges[i]));
      return i + Math.min(1, Math.max(0, f));
    }
  }
  return n;
}

/** Cost per call histogram on log-spaced buckets, with p50/p95/p99 drawn as labelled lines. */
export class HistogramChart {
  readonly chart: Chart<'bar', { x: number; y: number }[]>;
  private edges: number[] = [];
  private counts: number[] = [];
  private markers: Marker[] = [];

  constructor(canvas: HTMLCanvasElement, private readonly host: ChartHost) {
    const markerPlugin: Plugin<'bar'> = {
      id: 'percentileMarkers',
      afterDatasetsDraw: (chart) => this.drawMarkers(chart as unknown as Chart),
    };
    this.chart = new Chart(canvas, {
      type: 'bar',
      data: { datasets: [] },
      options: {
        interaction: { mode: 'nearest', intersect: false, axis: 'x' },
        layout: { padding: { right: 12 } },
        scales: {
          x: {
            type: 'linear',
            min: 0,
            offset: false,
            grid: { offset: false, drawTicks: true },
            ticks: { stepSize: 1, maxRotation: 0, autoSkip: false, callback: (v) => this.edgeLabel(Number(v)) },
            title: { display: true, text: 'Cost per call (USD, log scale)' },
          },
          y: { beginAtZero: true, grace: '40%', ticks: { precision: 0, maxTicksLimit: 6 }, title: { display: true, text: 'Calls' }, border: { display: false } },
        },
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: {
              title: (items) => {
                const i = items[0]?.dataIndex;
                return i === undefined ? '' : `${formatUsd(this.edges[i])} – ${formatUsd(this.edges[i + 1])} per call`;
              },
              label: (item) => ` ${plural(this.counts[item.dataIndex] ?? 0, 'call')}`,
            },
          },
        },
      },
      plugins: [markerPlugin],
    });
    themeAxes(this.chart, host);
  }

  /** Labels the bucket edges: only the round decades when there are enough of them, else every edge. */
  private edgeLabel(v: number): string {
    if (!Number.isInteger(v) || v < 0 || v >= this.edges.length) return '';
    const decades = this.edges.filter(isDecade).length;
    if (decades >= 2 && !isDecade(this.edges[v])) return '';
    return usdEdge(this.edges[v]);
  }

  update(s: DashboardSnapshot): void {
    const t = this.host.theme();
    const h = s.histogram;
    this.edges = h.edgesUsd;
    this.counts = h.counts;
    const n = Math.max(0, Math.min(h.counts.length, h.edgesUsd.length - 1));
    this.markers = (
      [
        ['p50', h.p50Usd, t.p50],
        ['p95', h.p95Usd, t.p95],
        ['p99', h.p99Usd, t.p99],
      ] as const
    )
      .filter(([, v]) => v !== null && v > 0)
      .map(([name, v, color]) => ({ label: `${name} ${formatUsd(v)}`, pos: bucketPos(h.edgesUsd, v as number), color }));
    const c = this.chart;
    const x = c.options.scales?.x;
    if (x) x.max = n;
    setDatasets(c.data.datasets, [
      {
        label: 'Calls',
        data: h.counts.slice(0, n).map((y, i) => ({ x: i + 0.5, y })),
        backgroundColor: withAlpha(t.accent, t.highContrast ? 1 : 0.55),
        hoverBackgroundColor: withAlpha(t.accent, 0.8),
        borderColor: t.highContrast ? t.fg : t.accent,
        borderWidth: { top: 1, left: 0, right: 0, bottom: 0 },
        barPercentage: 1,
        categoryPercentage: 0.94,
      },
    ]);
    redraw(c);
  }

  /**
   * Draws each percentile as a dashed line topped by its label, a tab against the line like a flag on a pole: on the
   * line's right, or its left where the right runs out of plot (and then also for lines just left of a left-facing
   * one, so two tabs never face each other). Tabs go in rows so none overlaps another, and a line starts at its own
   * tab: a tab in the way of another line sits in a row above that line's tab, so no line runs through a label.
   */
  private drawMarkers(chart: Chart): void {
    const t = this.host.theme();
    const xs = chart.scales.x;
    const { ctx, chartArea } = chart;
    if (!xs || !this.markers.length) return;
    const fs = Math.max(11, t.fontSize - 1);
    const pad = 4;
    const clear = 8;
    const h = fs + 6;
    ctx.save();
    ctx.font = `600 ${fs}px ${t.fontFamily}`;
    ctx.textBaseline = 'top';
    const tabs = this.markers.map((m) => ({ m, x: Math.round(xs.getPixelForValue(m.pos)) + 0.5, w: ctx.measureText(m.label).width + 2 * pad, right: true, row: 0, box: [0, 0] }));
    for (let i = tabs.length - 1; i >= 0; i--) {
      const a = tabs[i];
      const fitsRight = a.x + 1 + a.w <= chartArea.right;
      const fitsLeft = a.x - 1 - a.w >= chartArea.left;
      const facing = tabs.slice(i + 1).some((b) => !b.right && b.x - a.x < a.w + clear);
      a.right = fitsLeft ? fitsRight && !facing : true;
      a.box = a.right ? [a.x + 1, a.x + 1 + a.w] : [a.x - 1 - a.w, a.x - 1];
    }
    // Rows: a tab's row is above the row of any line it covers, and tabs in one row do not overlap.
    for (let pass = 0; pass < 2 * tabs.length + 2; pass++) {
      let moved = false;
      for (const [i, a] of tabs.entries()) {
        for (const [j, b] of tabs.entries()) {
          if (i === j) continue;
          const covers = b.x > a.box[0] - clear && b.x < a.box[1] + clear;
          const overlaps = j > i && a.row === b.row && b.box[0] < a.box[1] + 4 && b.box[1] > a.box[0] - 4;
          if ((covers && b.row <= a.row) || overlaps) {
            b.row = a.row + 1;
            moved = true;
          }
        }
      }
      if (!moved) break;
    }
    const top = (row: number) => chartArea.top + 2 + row * (h + 4);
    ctx.lineWidth = 2;
    ctx.setLineDash([5, 3]);
    for (const a of tabs) {
      ctx.strokeStyle = a.m.color;
      ctx.beginPath();
      ctx.moveTo(a.x, top(a.row));
      ctx.lineTo(a.x, chartArea.bottom);
      ctx.stroke();
    }
    ctx.setLineDash([]);
    ctx.textAlign = 'left';
    for (const a of tabs) {
      const y = top(a.row);
      ctx.fillStyle = t.bg;
      ctx.fillRect(a.box[0], y, a.w, h);
      // The edge against the line, solid in the line's colour.
      ctx.fillStyle = a.m.color;
      ctx.fillRect(a.right ? a.box[0] : a.box[1] - 2, y, 2, h);
      ctx.fillText(a.m.label, a.box[0] + pad, y + 3);
    }
    ctx.restore();
    // Where the tabs went, for the webview tests (CSS pixels of the canvas): each line runs from `top` down.
    chart.canvas.dataset.markers = JSON.stringify({
      area: [chartArea.left, chartArea.right],
      labels: tabs.map((a) => ({ label: a.m.label, line: a.x, top: top(a.row), box: [a.box[0], a.box[1], top(a.row), top(a.row) + h] })),
    });
  }
}

function isDecade(v: number): boolean {
  if (!(v > 0)) return false;
  const l = Math.log10(v);
  return Math.abs(l - Math.round(l)) < 1e-6;
}

/** The top of a series palette: keys in the order of the time series; `(other)`/`(unattributed)` in neutral greys. */
export function seriesColors(keys: string[], t: Theme): Map<string, string> {
  const m = new Map<string, string>();
  let i = 0;
  for (const k of keys) {
    if (k === '(other)') m.set(k, t.other);
    else if (k === '(unattributed)') m.set(k, t.unattributed);
    else {
      const base = t.series[i % t.series.length];
      m.set(k, i >= t.series.length ? withAlpha(base, 0.55) : base);
      i++;
    }
  }
  return m;
}
