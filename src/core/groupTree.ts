import { type GroupStats, partition, rowCost, type Slice, stats, UNATTRIBUTED } from './analysis';
import type { CostSource } from './types';

/** One node of the cost tree: the calls that share the values of `path`. */
export interface GroupNode {
  /** Stable id: the path's dimension=value pairs. */
  id: string;
  dim: string;
  /** The value, or `(unattributed)`. */
  value: string;
  path: { dim: string; value: string }[];
  slices: Slice[];
  stats: GroupStats;
  /** Share of the parent's cost, 0..1. */
  shareOfParent: number;
}

/**
 * The children of a node (or of the root, with `parent` undefined) grouped by `dim`, costliest first. The
 * `(unattributed)` group is always present at the top level, with zero calls if need be, so users see that it is empty.
 */
export function childGroups(slices: readonly Slice[], dim: string, parent: { path: GroupNode['path']; costUsd: number } | undefined, source: CostSource): GroupNode[] {
  const parts = partition(slices, dim);
  const path = parent?.path ?? [];
  const parentCost = parent ? parent.costUsd : sumCost(slices, source);
  const nodes: GroupNode[] = [];
  for (const [v, s] of parts) {
    const value = v === '' ? UNATTRIBUTED : v;
    const st = stats(s, source);
    const p = [...path, { dim, value }];
    nodes.push({ id: pathId(p), dim, value, path: p, slices: s, stats: st, shareOfParent: parentCost > 0 ? st.costUsd / parentCost : 0 });
  }
  if (!parent && !parts.has('')) {
    const p = [{ dim, value: UNATTRIBUTED }];
    nodes.push({ id: pathId(p), dim, value: UNATTRIBUTED, path: p, slices: [], stats: stats([], source), shareOfParent: 0 });
  }
  nodes.sort((a, b) => b.stats.costUsd - a.stats.costUsd || b.stats.calls - a.stats.calls || a.value.localeCompare(b.value));
  return nodes;
}

export function pathId(path: { dim: string; value: string }[]): string {
  return path.map((p) => `${p.dim}=${p.value}`).join('\u001f');
}

function sumCost(slices: readonly Slice[], source: CostSource): number {
  let c = 0;
  for (const { table, rows } of slices) {
    for (let k = 0; k < rows.length; k++) {
      const v = rowCost(table, rows[k], source);
      if (!Number.isNaN(v)) c += v;
    }
  }
  return c;
}

/** A single call picked from the tables. */
export interface CallRef {
  file: string;
  line: number;
  costUsd: number;
  model: string;
  tsMs: number;
  error: boolean;
}

/** The `n` costliest calls of the slices (unpriced calls last). */
export function costliestCalls(slices: readonly Slice[], n: number, source: CostSource): CallRef[] {
  const best: { s: Slice; row: number; cost: number }[] = [];
  for (const s of slices) {
    for (let k = 0; k < s.rows.length; k++) {
      const row = s.rows[k];
      const c = rowCost(s.table, row, source);
      const cost = Number.isNaN(c) ? -1 : c;
      if (best.length < n || cost > best[best.length - 1].cost) {
        best.push({ s, row, cost });
        best.sort((a, b) => b.cost - a.cost);
        if (best.length > n) best.pop();
      }
    }
  }
  return best.map(({ s, row, cost }) => ({
    file: s.table.file,
    line: s.table.line[row],
    costUsd: cost < 0 ? NaN : cost,
    model: s.table.pool.get(s.table.dims.model[row]),
    tsMs: s.table.tsMs[row],
    error: (s.table.flags[row] & 1) !== 0,
  }));
}
