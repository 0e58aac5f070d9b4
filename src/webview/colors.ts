/** Colours for the dashboard: parsing, alpha, contrast. Pure (no DOM): the unit tests use it too. */

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

/**
 * Black or white, whichever reads better on a bar of colour `c` (undefined: a colour it cannot read). A translucent bar
 * ((other), (unattributed)) shows blended over the background `bg`, so it is judged as it shows.
 */
export function labelColorOn(c: string, bg: string): string | undefined {
  const p = parseColor(c);
  if (!p) return undefined;
  const b = parseColor(bg);
  const rgb = p[3] < 1 && b ? [0, 1, 2].map((i) => p[i] * p[3] + b[i] * (1 - p[3])) : p.slice(0, 3);
  return contrastRatio(rgb, [0, 0, 0]) >= contrastRatio(rgb, [255, 255, 255]) ? '#000000' : '#ffffff';
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
