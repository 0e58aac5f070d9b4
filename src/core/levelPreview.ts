import { type CallTable, FLAG_COPY } from './callTable';
import { type CostSource, UNATTRIBUTED } from './types';

/**
 * The first level of the tree, summed by the readers of a file's byte ranges as they read (`LevelSums`), before their
 * columns are merged and handed over, or from a table (the single reader's): the figures the tree shows of each group (calls, priced calls, cost), so that a first
 * load shows them ~0.3 s earlier. The same figures as the tree's index over the merged table (`GroupIndex`, the same
 * cost per call; sums within a rounding of the last digits, as they are added in another grouping). Pure.
 */

/** What the tree groups by first, with the cost source and time range it shows. */
export interface PreviewRequest {
  dim: string;
  source: CostSource;
  sinceMs?: number;
  untilMs?: number;
}

/** One group of the level: its value (`(unattributed)` for calls without one) and the tree's figures. */
export interface PreviewGroup {
  value: string;
  calls: number;
  pricedCalls: number;
  costUsd: number;
}

export interface LevelPreview extends PreviewRequest {
  groups: PreviewGroup[];
}

/**
 * Calls to sum (`tablePart` of a table): cost and time columns, the id column of a dimension, and the text of its ids
 * (0: none) below `stringCount`.
 */
export interface PreviewPart {
  length: number;
  recordedUsd: Float64Array;
  computedUsd: Float64Array;
  tsMs: Float64Array;
  column(dim: string): Int32Array | undefined;
  text(id: number): string;
  stringCount: number;
  /** The flags of a table that marks copies of calls counted in another file (FLAG_COPY): those rows are left out. */
  copies?: Uint8Array;
}

/**
 * Levels of more groups than this are not summed ahead (grouping by a user id, say): sending, sorting and showing them
 * would cost more than the wait they save.
 */
export const MAX_PREVIEW_GROUPS = 1000;

/** Parts whose strings (the shared pool of a store) outnumber their calls by this much are summed over the ids present only. */
const SPARSE_FACTOR = 4;

/**
 * The level of `req.dim` over the parts' calls within the range (calls without a time are left out of a range);
 * undefined when it has more than MAX_PREVIEW_GROUPS groups.
 */
export function previewLevel(parts: readonly PreviewPart[], req: PreviewRequest): LevelPreview | undefined {
  const byValue = new Map<string, PreviewGroup>();
  for (const part of parts) {
    const n = part.length;
    // The part's ids (0: none), or, for a few calls against a big pool (a small file beside big ones in a store),
    // dense slots of the ids present, so the sums below never span the pool.
    let col = part.column(req.dim);
    let size = col ? part.stringCount : 1;
    let idOf = (g: number) => g;
    if (col && size > 1024 && size > n * SPARSE_FACTOR) {
      const slotOf = new Map<number, number>([[0, 0]]);
      const ids = [0];
      const slots = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        let k = slotOf.get(col[i]);
        if (k === undefined) {
          slotOf.set(col[i], (k = ids.length));
          ids.push(col[i]);
        }
        slots[i] = k;
      }
      col = slots;
      size = ids.length;
      idOf = (k) => ids[k];
    }
    const sums = new LevelSums(req);
    sums.add(part, 0, n, col, size);
    if (!sums.mergeInto(byValue, (g) => part.text(idOf(g)))) return undefined;
  }
  return { ...req, groups: [...byValue.values()] };
}

/** Rows LevelSums.add sums per call of sumRows. */
const SUM_SLICE = 256;

function sumRows(
  calls: Float64Array, priced: Float64Array, cost: Float64Array, col: Int32Array | undefined,
  rec: Float64Array, comp: Float64Array, ts: Float64Array, copies: Uint8Array | undefined,
  bounded: boolean, since: number, until: number, source: PreviewRequest['source'], from: number, to: number,
): void {
  for (let i = from; i < to; i++) {
    if (bounded && !(ts[i] >= since && ts[i] < until)) continue;
    if (copies !== undefined && (copies[i] & FLAG_COPY) !== 0) continue;
    const g = col ? col[i] : 0;
    calls[g]++;
    const r = rec[i];
    const c = source === 'recorded' ? r : source === 'computed' ? comp[i] : r === r ? r : comp[i];
    if (c !== c) continue;
    priced[g]++;
    cost[g] += c;
  }
}

/**
 * One part's figures by the id of the level's dimension, rows added a few at a time: a range reader adds each chunk's
 * rows as it reads them, so the level is summed on the reading threads, by code already compiled, and the merge of
 * the ranges only adds up their groups.
 */
export class LevelSums {
  private calls = new Float64Array(0);
  private priced = new Float64Array(0);
  private cost = new Float64Array(0);
  private readonly bounded: boolean;
  private readonly since: number;
  private readonly until: number;

  constructor(private readonly req: PreviewRequest) {
    this.bounded = req.sinceMs !== undefined || req.untilMs !== undefined;
    this.since = req.sinceMs ?? -Infinity;
    this.until = req.untilMs ?? Infinity;
  }

  /**
   * Adds rows [from, to) of `part` (calls without a time are left out of a range). `col` holds each row's id below
   * `size` (default: the part's column of the dimension and its string count; none: every row in group 0).
   */
  add(part: PreviewPart, from: number, to: number, col = part.column(this.req.dim), size = col ? part.stringCount : 1): void {
    if (size > this.calls.length) {
      const n = Math.max(size, this.calls.length * 2);
      const grown = (a: Float64Array) => {
        const b = new Float64Array(n);
        b.set(a);
        return b;
      };
      this.calls = grown(this.calls);
      this.priced = grown(this.priced);
      this.cost = grown(this.cost);
    }
    const calls = this.calls, priced = this.priced, cost = this.cost;
    const rec = part.recordedUsd, comp = part.computedUsd, ts = part.tsMs, copies = part.copies;
    const { bounded, since, until } = this;
    const source = this.req.source;
    // In slices: a function called often is optimized once when it gets hot, where one long loop per call (a chunk's
    // rows) is first optimized in the middle of its loop and then again as a whole (~5-9 ms of compiling per reader).
    for (let i = from; i < to; i += SUM_SLICE) sumRows(calls, priced, cost, col, rec, comp, ts, copies, bounded, since, until, source, i, Math.min(to, i + SUM_SLICE));
  }

  /**
   * Adds each id's figures to the group of its text (`text`; id 0 is the unattributed group) in `byValue`; false, and
   * stops, when that makes more than MAX_PREVIEW_GROUPS groups.
   */
  mergeInto(byValue: Map<string, PreviewGroup>, text: (id: number) => string): boolean {
    const calls = this.calls, priced = this.priced, cost = this.cost;
    for (let g = 0; g < calls.length; g++) {
      if (calls[g] === 0) continue;
      const value = g === 0 ? UNATTRIBUTED : text(g);
      let to = byValue.get(value);
      if (!to) byValue.set(value, (to = { value, calls: 0, pricedCalls: 0, costUsd: 0 }));
      to.calls += calls[g];
      to.pricedCalls += priced[g];
      to.costUsd += cost[g];
      if (byValue.size > MAX_PREVIEW_GROUPS) return false;
    }
    return true;
  }

  /** The part's groups (text by `text`), or undefined for more than MAX_PREVIEW_GROUPS. */
  groups(text: (id: number) => string): PreviewGroup[] | undefined {
    const byValue = new Map<string, PreviewGroup>();
    return this.mergeInto(byValue, text) ? [...byValue.values()] : undefined;
  }
}

/** The level of parts whose groups were summed apart (`LevelSums.groups`, each part's own); undefined if one is too big. */
export function mergedLevel(parts: readonly (readonly PreviewGroup[])[], req: PreviewRequest): LevelPreview | undefined {
  const byValue = new Map<string, PreviewGroup>();
  for (const groups of parts) {
    for (const g of groups) addGroup(byValue, g);
    if (byValue.size > MAX_PREVIEW_GROUPS) return undefined;
  }
  return { ...req, groups: [...byValue.values()] };
}

/** Adds `g`'s figures to the group of its value in `byValue` (a copy of `g` when there is none yet). */
function addGroup(byValue: Map<string, PreviewGroup>, g: PreviewGroup): void {
  const to = byValue.get(g.value);
  if (!to) byValue.set(g.value, { ...g });
  else {
    to.calls += g.calls;
    to.pricedCalls += g.pricedCalls;
    to.costUsd += g.costUsd;
  }
}

/**
 * Whether a level summed for `p` is what a view shows now: its first dimension, cost source and range (a rolling range
 * that moved on at a minute boundary since makes it another range).
 */
export function previewMatches(p: PreviewRequest, view: { dims: readonly string[]; source: string; sinceMs: number | undefined; untilMs?: number }): boolean {
  return view.dims.length > 0 && p.dim === view.dims[0] && p.source === view.source && p.sinceMs === view.sinceMs && p.untilMs === view.untilMs;
}

/** A table as a part to sum. */
export function tablePart(t: CallTable): PreviewPart {
  return {
    length: t.length, recordedUsd: t.recordedUsd, computedUsd: t.computedUsd, tsMs: t.tsMs, column: (dim) => t.column(dim), text: (id) => t.pool.get(id), stringCount: t.pool.values.length,
    copies: t.copies > 0 ? t.flags : undefined,
  };
}

/**
 * The level's groups with those of other files (the tree's figures of the calls already loaded) added, costliest
 * first, as the tree orders them; the `(unattributed)` group always there, with zero calls if need be.
 */
export function previewGroups(preview: LevelPreview, others: readonly PreviewGroup[] = []): PreviewGroup[] {
  const byValue = new Map<string, PreviewGroup>();
  for (const g of [...preview.groups, ...others]) addGroup(byValue, g);
  if (!byValue.has(UNATTRIBUTED)) byValue.set(UNATTRIBUTED, { value: UNATTRIBUTED, calls: 0, pricedCalls: 0, costUsd: 0 });
  return [...byValue.values()].sort((a, b) => b.costUsd - a.costUsd || b.calls - a.calls || a.value.localeCompare(b.value));
}
