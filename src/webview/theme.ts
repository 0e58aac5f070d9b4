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

export { contrastRatio, labelColorOn, parseColor, solidColor, withAlpha } from './colors';
import { solidColor, withAlpha } from './colors';

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
