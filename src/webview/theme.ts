/** Chart colours and fonts read from VS Code's theme variables (re-read when the theme changes). */

export type ThemeKind = 'light' | 'dark' | 'high-contrast' | 'high-contrast-light';

export const CHART_COLORS = ['blue', 'orange', 'green', 'purple', 'red', 'yellow'] as const;
export type ChartColor = (typeof CHART_COLORS)[number];

export interface Theme {
  kind: ThemeKind;
  highContrast: boolean;
  fg: string;
  muted: string;
  bg: string;
  grid: string;
  border: string;
  fontFamily: string;
  fontSize: number;
  /** Categorical colours for series, in order. */
  series: string[];
  /** The theme's chart colours by name, opaque (also set as `--chart-<name>` on the body for the page's CSS). */
  charts: Record<ChartColor, string>;
  /** `(other)` and `(unattributed)`. */
  other: string;
  unattributed: string;
  accent: string;
  warning: string;
  p50: string;
  p95: string;
  p99: string;
  tooltipBg: string;
  tooltipFg: string;
  tooltipBorder: string;
}

/** Parses `#rgb`, `#rgba`, `#rrggbb`, `#rrggbbaa`, `rgb()`/`rgba()`; undefined for anything else. */
export function parseColor(c: string): [number, number, number, number] | undefined {
  const s = c.trim();
  let m = /^#([0-9a-f]{3,8})$/i.exec(s);
  if (m) {
    let h = m[1];
    if (h.length === 3 || h.length === 4) h = [...h].map((x) => x + x).join('');
    if (h.length !== 6 && h.length !== 8) return undefined;
    const n = (i: number) => parseInt(h.slice(i, i + 2), 16);
    return [n(0), n(2), n(4), h.length === 8 ? n(6) / 255 : 1];
  }
  m = /^rgba?\(\s*([\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)(?:[\s,/]+([\d.]+%?))?\s*\)$/i.exec(s);
  if (m) {
    const a = m[4] === undefined ? 1 : m[4].endsWith('%') ? parseFloat(m[4]) / 100 : parseFloat(m[4]);
    return [Number(m[1]), Number(m[2]), Number(m[3]), a];
  }
  return undefined;
}

/** The colour with its alpha multiplied by `a` (unparseable colours are returned as they are). */
export function withAlpha(c: string, a: number): string {
  const p = parseColor(c);
  if (!p) return c;
  return `rgba(${p[0]}, ${p[1]}, ${p[2]}, ${+(p[3] * a).toFixed(3)})`;
}

/** WCAG relative luminance of an sRGB colour (0..1). */
function luminance([r, g, b]: readonly number[]): number {
  const f = (v: number) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
  return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
}

/** WCAG contrast ratio of two opaque colours (1..21). */
export function contrastRatio(a: readonly number[], b: readonly number[]): number {
  const la = luminance(a);
  const lb = luminance(b);
  return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
}

/** Chart marks need this contrast with the background (WCAG's 3:1 for graphical objects). */
const MIN_CONTRAST = 3;

/**
 * A theme's chart colour made opaque, so a series, its swatch and a marker line look the same whatever they are drawn
 * on. Some themes give translucent chart colours (Dark Modern's `charts.orange` is `rgba(234, 92, 0, 0.33)`): such a
 * colour is blended over the background, and if the blend hardly shows (under 3:1 against it), its own hue at full
 * opacity is used, else `fallback`. Opaque and unparseable colours are returned as they are.
 */
export function solidColor(c: string, bg: string, fallback: string): string {
  const p = parseColor(c);
  if (!p || p[3] >= 1) return c;
  const b = parseColor(bg);
  const base = b && b[3] >= 1 ? b.slice(0, 3) : [30, 30, 30];
  const rgb = (v: readonly number[]) => `rgb(${v.map((x) => Math.round(x)).join(', ')})`;
  const blend = [0, 1, 2].map((i) => p[i] * p[3] + base[i] * (1 - p[3]));
  if (contrastRatio(blend.map(Math.round), base) >= MIN_CONTRAST) return rgb(blend);
  if (contrastRatio(p.slice(0, 3), base) >= MIN_CONTRAST) return rgb(p.slice(0, 3));
  return fallback;
}

export function readTheme(): Theme {
  const body = document.body;
  const cs = getComputedStyle(body);
  const cls = body.classList;
  const kind: ThemeKind = cls.contains('vscode-high-contrast-light')
    ? 'high-contrast-light'
    : cls.contains('vscode-high-contrast')
      ? 'high-contrast'
      : cls.contains('vscode-light')
        ? 'light'
        : 'dark';
  const light = kind === 'light' || kind === 'high-contrast-light';
  const highContrast = kind.startsWith('high-contrast');
  const v = (name: string, fallback: string) => cs.getPropertyValue(name).trim() || fallback;
  const fg = v('--vscode-foreground', light ? '#616161' : '#cccccc');
  const bg = v('--vscode-editor-background', light ? '#ffffff' : '#1e1e1e');
  // Chart colours are drawn opaque (see solidColor), with Light+/Dark+ values as fallbacks.
  const chart = (name: string, fallback: string) => solidColor(v(`--vscode-charts-${name}`, fallback), bg, fallback);
  const blue = chart('blue', light ? '#1a85ff' : '#3794ff');
  const orange = chart('orange', '#d18616');
  const green = chart('green', light ? '#388a34' : '#89d185');
  const purple = chart('purple', light ? '#652d90' : '#b180d7');
  const yellow = chart('yellow', light ? '#bf8803' : '#cca700');
  const red = chart('red', light ? '#e51400' : '#f14c4c');
  const chartsFg = v('--vscode-charts-foreground', fg);
  const fontSize = parseFloat(v('--vscode-font-size', '13px')) || 13;
  return {
    kind,
    highContrast,
    fg: chartsFg,
    muted: v('--vscode-descriptionForeground', withAlpha(fg, 0.75)),
    bg,
    grid: highContrast ? withAlpha(chartsFg, 0.45) : withAlpha(v('--vscode-charts-lines', chartsFg), light ? 0.25 : 0.3),
    border: v('--vscode-contrastBorder', v('--vscode-panel-border', withAlpha(fg, 0.3))),
    fontFamily: v('--vscode-font-family', 'system-ui, sans-serif'),
    fontSize,
    series: [blue, orange, green, purple, red, yellow],
    charts: { blue, orange, green, purple, red, yellow },
    other: withAlpha(chartsFg, highContrast ? 0.6 : 0.35),
    unattributed: withAlpha(chartsFg, highContrast ? 0.85 : 0.6),
    accent: blue,
    warning: v('--vscode-editorWarning-foreground', yellow),
    p50: green,
    p95: orange,
    p99: red,
    tooltipBg: v('--vscode-editorHoverWidget-background', v('--vscode-editorWidget-background', bg)),
    tooltipFg: v('--vscode-editorHoverWidget-foreground', fg),
    tooltipBorder: v('--vscode-editorHoverWidget-border', v('--vscode-widget-border', withAlpha(fg, 0.3))),
  };
}

/**
 * Gives the page's CSS the opaque chart colours as `--chart-<name>` (set on the body: the theme watcher looks at the
 * root element's style, not the body's).
 */
export function applyCssColors(t: Theme): void {
  for (const name of CHART_COLORS) document.body.style.setProperty(`--chart-${name}`, t.charts[name]);
}

/** Calls `onChange` (once per frame at most) when VS Code switches theme: body class / theme attributes, or html style. */
export function watchTheme(onChange: () => void): MutationObserver {
  let queued = false;
  // Only a change of theme counts: the page's own classes (e.g. `is-loading` on the body) must not redraw it.
  const signature = () =>
    [
      [...document.body.classList].filter((c) => c.startsWith('vscode-')).sort().join(' '),
      document.body.getAttribute('data-vscode-theme-kind') ?? '',
      document.body.getAttribute('data-vscode-theme-id') ?? '',
      document.documentElement.getAttribute('style') ?? '',
      [...document.documentElement.classList].sort().join(' '),
    ].join('|');
  let last = signature();
  const obs = new MutationObserver(() => {
    const now = signature();
    if (now === last) return;
    last = now;
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => {
      queued = false;
      onChange();
    });
  });
  obs.observe(document.body, { attributes: true, attributeFilter: ['class', 'data-vscode-theme-kind', 'data-vscode-theme-id'] });
  obs.observe(document.documentElement, { attributes: true, attributeFilter: ['style', 'class'] });
  return obs;
}
