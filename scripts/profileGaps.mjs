#!/usr/bin/env node
/**
 * What the extension host ran in its event-loop gaps over 50 ms: reads the CPU profiles and gap lists that
 * `npm run bench:many -- --profile DIR` wrote (scripts/manyFilesProbe.cjs) and prints, per phase, each gap with the
 * functions that took most of its samples (self time, garbage collection included as "(garbage collector)").
 *
 *   node scripts/profileGaps.mjs DIR [--top 8]
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);
const at = args.indexOf('--top');
const top = at >= 0 ? Number(args[at + 1]) || 8 : 8;
const dir = args.find((a, i) => !a.startsWith('--') && (at < 0 || i !== at + 1));
if (!dir) throw new Error('usage: node scripts/profileGaps.mjs DIR [--top N]');
const phases = readdirSync(dir).filter((f) => f.endsWith('.gaps.json')).map((f) => Number(f.split('.')[0])).sort((a, b) => a - b);
for (const k of phases) {
  const { phase, gaps } = JSON.parse(readFileSync(join(dir, `${k}.gaps.json`), 'utf8'));
  const prof = JSON.parse(readFileSync(join(dir, `${k}.cpuprofile`), 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const name = (n) => {
    const f = n.callFrame;
    const file = f.url ? f.url.split('/').pop() : '';
    return `${f.functionName || '(anonymous)'}${file ? ` ${file}:${f.lineNumber + 1}` : ''}`;
  };
  // Sample times: startTime plus the running sum of timeDeltas (µs, the monotonic clock of process.hrtime).
  const times = [];
  let t = prof.startTime;
  for (const d of prof.timeDeltas) times.push((t += d));
  console.log(`\n## ${k}. ${phase}: ${gaps.length} gap(s) over 50 ms`);
  for (const [s, e] of gaps) {
    const self = new Map();
    let n = 0;
    for (let i = 0; i < prof.samples.length; i++) {
      if (times[i] < s || times[i] > e) continue;
      const node = byId.get(prof.samples[i]);
      const key = name(node);
      const dt = (times[i + 1] ?? times[i]) - times[i];
      self.set(key, (self.get(key) ?? 0) + dt);
      n += dt;
    }
    const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
    console.log(`- ${((e - s) / 1000).toFixed(0)} ms gap (${(n / 1000).toFixed(0)} ms sampled): ${rows.map(([f, us]) => `${f} ${(us / 1000).toFixed(1)}`).join('; ')}`);
  }
}
