import { partition, type Slice, UNATTRIBUTED } from '../core/analysis';
import { anomalyHistory, estimateDrift, findAnomalies, findModelSwitches } from '../core/anomalies';
import { type Budget, budgetLine, budgetStatus, taskCosts, type WhatIfResult, whatIf, whatIfTotalText } from '../core/budgets';
import type { CallTable } from '../core/callTable';
import { terminalSafe } from '../core/format';
import { findOutliers } from '../core/outliers';
import type { PriceBook } from '../core/pricing';
import type { CostSource } from '../core/types';

export type SignalCommand = 'outliers' | 'anomalies' | 'budget' | 'whatif';

export interface SignalOptions {
  by: string[];
  top?: number;
  source: CostSource;
  prices: PriceBook;
  model?: string;
  budgets: Budget[];
  nowMs: number;
  tables: CallTable[];
}

const where = (x: { file: string; line: number; callsite?: { file: string; line?: number } }) =>
  `${terminalSafe(x.file)}:${x.line}${x.callsite ? ` (call site ${terminalSafe(x.callsite.file)}${x.callsite.line ? `:${x.callsite.line}` : ''})` : ''}`;

/** Runs one of the signal commands; returns the JSON (a stable shape, `version: 1`) and the text for people. */
export function runSignalCommand(cmd: SignalCommand, slices: Slice[], o: SignalOptions): { json: unknown; text: string } {
  const lines: string[] = [];
  switch (cmd) {
    case 'outliers': {
      const r = findOutliers(slices, { dim: o.by[0], source: o.source, maxCalls: o.top ?? 20 });
      lines.push(r.headline, '');
      lines.push(r.traces.length ? 'Runaway or retrying traces:' : 'No runaway or retrying traces.');
      for (const t of r.traces.slice(0, o.top ?? 20)) lines.push(`  ${terminalSafe(t.text)}`, `    ${where(t)}`);
      lines.push('', r.calls.length ? `Outlier calls within their ${o.by[0]} (costliest first):` : `No outlier calls within their ${o.by[0]}.`);
      for (const c of r.calls) lines.push(`  ${terminalSafe(c.group)}: ${terminalSafe(c.text)}`, `    ${where(c)}`);
      return { json: { version: 1, ...r }, text: lines.join('\n') + '\n' };
    }
    case 'anomalies': {
      const dims = o.by.length === 1 && o.by[0] === 'feature' ? ['feature', 'agent', 'user'] : o.by;
      const anomalies = findAnomalies(slices, { dims, source: o.source });
      const switches = findModelSwitches(slices, { source: o.source });
      const drift = estimateDrift(slices, { source: o.source });
      const history = anomalyHistory(slices);
      if (history.note) lines.push(history.note, '');
      lines.push(anomalies.length ? `${anomalies.length} hourly anomal${anomalies.length === 1 ? 'y' : 'ies'} (newest first):` : 'No hourly anomalies.');
      for (const a of anomalies.slice(0, o.top ?? 50)) lines.push(`  [${a.kind}] ${terminalSafe(a.text)}`);
      lines.push('', switches.length ? 'Model switches:' : 'No model switches.');
      for (const a of switches) lines.push(`  ${terminalSafe(a.text)}`);
      if (drift.length) {
        lines.push('', 'Pre-flight estimates against actual cost:');
        for (const d of drift) lines.push(`  ${terminalSafe(d.text)}`);
      }
      return { json: { version: 1, anomalies, modelSwitches: switches, estimateDrift: drift, history }, text: lines.join('\n') + '\n' };
    }
    case 'budget': {
      const status = budgetStatus(o.tables, o.budgets, o.nowMs, o.source);
      for (const s of status) lines.push(terminalSafe(budgetLine(s)));
      return { json: { version: 1, at: new Date(o.nowMs).toISOString(), budgets: status }, text: lines.join('\n') + '\n' };
    }
    case 'whatif': {
      const dim = o.by[0];
      const rows: (WhatIfResult & { key: Record<string, string> })[] = [];
      // Groups none of whose calls has a current cost: not compared, but listed (after the others) with how many calls.
      const unpricedGroups: { key: Record<string, string>; calls: number; unpricedCalls: number; text: string }[] = [];
      let cur = 0, alt = 0, unpriced = 0;
      for (const [value, s] of partition(slices, dim)) {
        const key = value || UNATTRIBUTED;
        const w = whatIf(s, o.model!, o.prices, { label: `${dim} ${key}`, source: o.source });
        if (!w) continue;
        unpriced += w.unpricedCalls;
        if (!w.comparedCalls) {
          if (w.unpricedCalls) unpricedGroups.push({ key: { [dim]: key }, calls: w.calls, unpricedCalls: w.unpricedCalls, text: w.text });
          continue;
        }
        cur += w.currentUsd;
        alt += w.whatIfUsd;
        rows.push({ key: { [dim]: key }, ...w });
      }
      rows.sort((a, b) => b.savingsUsd - a.savingsUsd);
      unpricedGroups.sort((a, b) => b.unpricedCalls - a.unpricedCalls);
      for (const r of [...rows, ...unpricedGroups].slice(0, o.top ?? Infinity)) lines.push(terminalSafe(r.text));
      lines.push('', whatIfTotalText(o.model!, cur, alt, unpriced));
      const tasks = taskCosts(slices, { dim, source: o.source });
      if (tasks.length) {
        lines.push('', 'Cost per task (calls grouped by trace id):');
        for (const t of tasks.slice(0, o.top ?? 20)) lines.push(`  ${terminalSafe(t.text)}`);
      }
      return { json: { version: 1, model: o.model, by: dim, currentUsd: cur, whatIfUsd: alt, unpricedCalls: unpriced, groups: rows, unpricedGroups, tasks }, text: lines.join('\n') + '\n' };
    }
  }
}
