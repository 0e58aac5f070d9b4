// Runs inside a real VS Code extension host (scripts/benchManyFiles.mjs passes it to scripts/vscode/run.mjs as the
// tests entry): watches the host's event loop (a 5 ms interval: the largest gap between its ticks) while the extension
// loads a workspace of many trace files and while a user works with them (the dashboard open, regrouping, a new range,
// a transcript appended to, a file added and one deleted, a refresh). Writes one JSON line per phase to the file
// LLM_COST_LENS_PROBE_OUT names, with the host's RSS after the load and at the end (the whole extension host process:
// VS Code's own part included). Not a test: it measures, and judges nothing. With LLM_COST_LENS_PROBE_PROFILE set to a
// folder, it also writes each phase's CPU profile of the host there (<k>.cpuprofile) with the gaps over 50 ms
// (<k>.gaps.json: their ends, in the profile's clock), which scripts/profileGaps.mjs sums up.
const vscode = require('vscode');
const fs = require('fs');
const path = require('path');
const inspector = require('inspector');

exports.run = async function run() {
  const out = process.env.LLM_COST_LENS_PROBE_OUT;
  if (!out) throw new Error('LLM_COST_LENS_PROBE_OUT is not set');
  const phases = [];
  let max = 0;
  let last = performance.now();
  let over = 0;
  // The gaps over 50 ms of this phase: [start, end] in µs of process.hrtime (the CPU profile's clock).
  let gaps = [];
  // The host's main thread's time on a core and waiting for one (Linux: /proc/<pid>/task/<tid>/schedstat, ns), summed
  // over the gaps over 50 ms: a gap the thread spent mostly waiting for a core is the machine's, not the code's.
  const schedstat = `/proc/${process.pid}/task/${process.pid}/schedstat`;
  const sched = () => {
    try {
      const [run, wait] = fs.readFileSync(schedstat, 'utf8').split(' ').map(Number);
      return { run, wait };
    } catch {
      return undefined;
    }
  };
  let lastSched = sched();
  let inGaps = { ms: 0, runMs: 0, waitMs: 0 };
  const timer = setInterval(() => {
    const now = performance.now();
    const gap = now - last;
    const s = sched();
    if (gap > max) max = gap;
    if (gap > 50) {
      over++;
      const end = Number(process.hrtime.bigint() / 1000n);
      gaps.push([end - Math.round(gap * 1000), end]);
      inGaps.ms += gap;
      if (s && lastSched) {
        inGaps.runMs += (s.run - lastSched.run) / 1e6;
        inGaps.waitMs += (s.wait - lastSched.wait) / 1e6;
      }
    }
    lastSched = s;
    last = now;
  }, 5);
  // The host's garbage collections (all of VS Code's extension host: ours and the rest), by kind: count, longest, total.
  const { PerformanceObserver, constants } = require('perf_hooks');
  const kinds = { [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major', [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor', [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental', [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak' };
  let gcs = {};
  const gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = kinds[(e.detail && e.detail.kind) ?? e.kind] ?? 'other';
      const g = (gcs[kind] ??= { count: 0, maxMs: 0, totalMs: 0 });
      g.count++;
      g.maxMs = Math.max(g.maxMs, Math.round(e.duration));
      g.totalMs += e.duration;
    }
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  const profileDir = process.env.LLM_COST_LENS_PROBE_PROFILE;
  const session = profileDir ? new inspector.Session() : undefined;
  const post = (method, params) => new Promise((resolve, reject) => session.post(method, params, (e, r) => (e ? reject(e) : resolve(r))));
  if (session) {
    session.connect();
    fs.mkdirSync(profileDir, { recursive: true });
    await post('Profiler.enable');
    await post('Profiler.setSamplingInterval', { interval: 500 });
  }
  const phase = async (name, fn, settleMs) => {
    max = 0;
    over = 0;
    gaps = [];
    gcs = {};
    inGaps = { ms: 0, runMs: 0, waitMs: 0 };
    if (session) await post('Profiler.start');
    last = performance.now();
    const t = performance.now();
    await fn();
    const ms = performance.now() - t;
    await new Promise((r) => setTimeout(r, settleMs));
    for (const g of Object.values(gcs)) g.totalMs = Math.round(g.totalMs);
    phases.push({ phase: name, maxGapMs: Math.round(max), gapsOver50Ms: over, ms: Math.round(ms), gc: gcs, inGaps: { ms: Math.round(inGaps.ms), runMs: Math.round(inGaps.runMs), waitMs: Math.round(inGaps.waitMs) } });
    if (session) {
      const { profile } = await post('Profiler.stop');
      const k = phases.length;
      fs.writeFileSync(path.join(profileDir, `${k}.cpuprofile`), JSON.stringify(profile));
      fs.writeFileSync(path.join(profileDir, `${k}.gaps.json`), JSON.stringify({ phase: name, gaps }));
    }
  };
  const ext = vscode.extensions.all.find((e) => e.id.toLowerCase() === 'llm-cost-lens.llm-cost-lens');
  if (!ext) throw new Error('the extension is not loaded');
  const api = ext.isActive ? ext.exports : await ext.activate();
  const dir = path.join(vscode.workspace.workspaceFolders[0].uri.fsPath, 'traces');
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.jsonl')).sort();
  // Lines for a session of its own: the first 50 lines of a transcript under new message and request ids.
  const fresh = (tag) =>
    fs.readFileSync(path.join(dir, files[1]), 'utf8').split('\n').filter(Boolean).slice(0, 50).map((l) => {
      const o = JSON.parse(l);
      if (o.message && o.message.id) o.message.id += tag;
      if (o.requestId) o.requestId += tag;
      return JSON.stringify(o);
    }).join('\n') + '\n';
  await phase('load (from activation, as far as the probe sees it)', () => api.ready, 3000);
  const rssAfterLoadMb = Math.round(process.memoryUsage().rss / 1e6);
  await phase('show the Cost view', () => vscode.commands.executeCommand('llmCostLens.focus'), 2000);
  await phase('open the dashboard', () => vscode.commands.executeCommand('llmCostLens.openDashboard'), 4000);
  await phase('group by cwd > agent > model', () => vscode.commands.executeCommand('llmCostLens.groupBy', ['cwd', 'agent', 'model']), 3000);
  await phase('time range 7 days', () => vscode.commands.executeCommand('llmCostLens.timeRange', '7d'), 3000);
  await phase('append 50 lines to a transcript', async () => fs.appendFileSync(path.join(dir, files[5]), fresh('_appended')), 3000);
  await phase('a new transcript', async () => fs.writeFileSync(path.join(dir, 'zz-new.jsonl'), fresh('_new')), 3000);
  await phase('a transcript deleted', async () => fs.unlinkSync(path.join(dir, files[0])), 3000);
  await phase('refresh (every file read again)', () => vscode.commands.executeCommand('llmCostLens.refresh'), 5000);
  clearInterval(timer);
  gcObserver.disconnect();
  const calls = api.store.tables().reduce((a, t) => a + t.length - t.copies, 0);
  fs.writeFileSync(out, JSON.stringify({ files: api.store.paths().length, calls, rssAfterLoadMb, rssAtEndMb: Math.round(process.memoryUsage().rss / 1e6), phases }) + '\n');
};
