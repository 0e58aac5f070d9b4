import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { countUndated, select, stats } from '../../../src/core/analysis';
import { budgetStatus } from '../../../src/core/budgets';
import { CallTable, FLAG_COPY, StringPool } from '../../../src/core/callTable';
import { CopyIndex, type CopySource, markCopies } from '../../../src/core/copies';
import { buildDashboardSnapshot } from '../../../src/core/dashboard';
import { GroupIndex, type GroupIndexOptions, type IndexNode } from '../../../src/core/groupIndex';
import { previewLevel, tablePart } from '../../../src/core/levelPreview';
import { PriceBook } from '../../../src/core/pricing';
import { buildReport } from '../../../src/core/report';
import { ingestBytes, joinContext, newTraceFileState, packState, type TraceFileState, unpackContext, unpackState } from '../../../src/core/traceFile';
import { runSignalsJob } from '../../../src/node/signalsWorkerJobs';
import { seededRandom } from '../../../src/core/random';
import { assertUsd, fixture, sameIndex, sameStats } from '../helpers';

const prices = new PriceBook();
const enc = (t: string) => new TextEncoder().encode(t);

/** The lines of a real Claude Code transcript (a subagent's: 12 messages, each streamed over several lines). */
const SPOTTER = readFileSync(fixture('third-party', 'claude-code-subagent-transcript_spotter.jsonl'), 'utf8').split('\n').filter(Boolean);

/** The lines of a transcript as a resumed or forked session copies them into its own file: another session id. */
const copied = (lines: readonly string[], session = 'resumed-session') => lines.map((l) => JSON.stringify({ ...JSON.parse(l), sessionId: session }));

/** Lines of new messages: the same content under other message and request ids (and another agent). */
const renamed = (lines: readonly string[], tag: string) =>
  lines.map((l) => {
    const o = JSON.parse(l);
    if (o.message?.id) o.message.id += tag;
    if (o.requestId) o.requestId += tag;
    if (o.agentId) o.agentId += tag;
    o.uuid += tag;
    return JSON.stringify(o);
  });

/** Index of the first line of the `k`-th assistant message (0-based) of the transcript. */
function messageStart(lines: readonly string[], k: number): number {
  const seen = new Set<string>();
  for (let i = 0; i < lines.length; i++) {
    const o = JSON.parse(lines[i]);
    if (o.type !== 'assistant' || seen.has(o.message.id)) continue;
    if (seen.size === k) return i;
    seen.add(o.message.id);
  }
  return lines.length;
}

function read(lines: readonly string[], file: string, pool: StringPool): TraceFileState {
  const s = newTraceFileState(file, pool);
  ingestBytes(s, enc(lines.join('\n') + '\n'), true, prices);
  return s;
}

const source = (s: TraceFileState, path = s.file): CopySource => ({ path, table: s.table, ctx: s.ctx });
const totals = (tables: readonly CallTable[]) => stats(select(tables));
const copyRows = (t: CallTable) => [...t.flags.subarray(0, t.length)].flatMap((f, i) => ((f & FLAG_COPY) !== 0 ? [i] : []));

function sameTotals(got: CallTable[], want: CallTable[], what: string) {
  const g = totals(got);
  const w = totals(want);
  assert.equal(g.calls, w.calls, `${what}: calls`);
  assert.equal(g.pricedCalls, w.pricedCalls, `${what}: priced calls`);
  assert.equal(g.inputTokens + g.outputTokens + g.cacheReadTokens + g.cacheWriteTokens, w.inputTokens + w.outputTokens + w.cacheReadTokens + w.cacheWriteTokens, `${what}: tokens`);
  assert.ok(w.costUsd > 0);
  assertUsd(g.costUsd, w.costUsd, `${what}: cost`);
  assert.equal(g.costUsd.toFixed(2), w.costUsd.toFixed(2), `${what}: cost to the cent`);
}

describe('Claude Code calls copied into another transcript (resumed or forked sessions) count once', () => {
  // The original session, and a session resumed from it: the first three messages copied, then messages of its own.
  const cut = messageStart(SPOTTER, 3);
  const resumedLines = [...copied(SPOTTER.slice(0, cut)), ...renamed(SPOTTER.slice(cut), '_new')];

  it('two transcripts sharing every message give the totals of one (calls, tokens and cost to the cent)', () => {
    const pool = new StringPool();
    const a = read(SPOTTER, 'a.jsonl', pool);
    const fork = read(copied(SPOTTER), 'b.jsonl', pool);
    assert.equal(a.table.length, 12);
    assert.equal(fork.table.length, 12);
    assert.deepEqual([...markCopies([source(a), source(fork)])].sort(), ['b.jsonl']);
    assert.equal(a.table.copies, 0, 'the file first by path keeps the calls');
    assert.equal(fork.table.copies, 12);
    sameTotals([a.table, fork.table], [read(SPOTTER, 'one.jsonl', new StringPool()).table], 'a fork');
  });

  it('a resumed session counts its own messages and not those it copied, whatever the order the files are read in', () => {
    const pool = new StringPool();
    const a = read(SPOTTER, '/p/a.jsonl', pool);
    const b = read(resumedLines, '/p/b.jsonl', pool);
    const union = read([...SPOTTER, ...renamed(SPOTTER.slice(cut), '_new')], 'union.jsonl', new StringPool());
    assert.equal(union.table.length, 12 + 12 - 3);
    // Read in either order, and marked at once or as each file came: the same rows are marked.
    const orders: CopySource[][][] = [[[source(a), source(b)]], [[source(b), source(a)]], [[source(a)], [source(a), source(b)]], [[source(b)], [source(b), source(a)]]];
    for (const steps of orders) {
      for (const t of [a.table, b.table]) t.markCopies(new Map(copyRows(t).map((i) => [i, false])));
      const index = new CopyIndex();
      for (const s of steps) index.sync(s);
      assert.deepEqual(copyRows(a.table), []);
      assert.deepEqual(copyRows(b.table), [0, 1, 2], 'the three messages copied');
      sameTotals([a.table, b.table], [union.table], steps.map((s) => s.map((x) => x.path).join('+')).join(' then '));
    }
    // The copy in the file first by path counts: with the resumed session's path first, the original's rows are marked.
    const index = new CopyIndex();
    index.sync([source(a, '/p/z.jsonl'), source(b)]);
    assert.deepEqual(copyRows(a.table), [0, 1, 2]);
    assert.deepEqual(copyRows(b.table), []);
    sameTotals([a.table, b.table], [union.table], 'the copy first by path');
  });

  it('matches a message by its id and its requestId: the same id under another requestId is another call', () => {
    const pool = new StringPool();
    const withRequest = (lines: readonly string[], tag: string) =>
      lines.map((l) => {
        const o = JSON.parse(l);
        if (o.requestId) o.requestId += tag;
        return JSON.stringify(o);
      });
    const a = read(SPOTTER, '/p/a.jsonl', pool);
    const b = read(withRequest(SPOTTER, '_other'), '/p/b.jsonl', pool);
    const c = read(copied(withRequest(SPOTTER, '_other')), '/p/c.jsonl', pool);
    const d = read(copied(SPOTTER), '/p/0.jsonl', pool);
    const index = new CopyIndex();
    index.sync([source(c), source(a), source(b)]);
    assert.deepEqual(copyRows(a.table), [], 'a: its requestIds are nobody else\'s');
    assert.deepEqual(copyRows(b.table), [], 'b: the same message ids under other requestIds count');
    assert.equal(c.table.copies, 12, "c: copies of b's messages");
    // A copy of a's messages first by path: a's rows become the copies, b's and c's stay as they were.
    index.sync([source(c), source(a), source(b), source(d)]);
    assert.equal(a.table.copies, 12);
    assert.deepEqual([d.table.copies, b.table.copies, c.table.copies], [0, 0, 12]);
  });

  it('brings a copy back when its original is removed or truncated, and marks it again when the original is read again', () => {
    const pool = new StringPool();
    const a = read(SPOTTER, '/p/a.jsonl', pool);
    const b = read(resumedLines, '/p/b.jsonl', pool);
    const index = new CopyIndex();
    assert.deepEqual([...index.sync([source(a), source(b)])], ['/p/b.jsonl']);
    assert.equal(b.table.copies, 3);
    // Removed: the resumed session's copies count again.
    assert.deepEqual([...index.sync([source(b)])], ['/p/b.jsonl']);
    assert.equal(b.table.copies, 0);
    assert.equal(index.restarts, 0, 'one file gone is taken out, the index does not start over');
    sameTotals([b.table], [read(resumedLines, 'b-alone.jsonl', new StringPool()).table], 'the original removed');
    // Back again: marked again.
    index.sync([source(a), source(b)]);
    assert.equal(b.table.copies, 3);
    // Truncated to its first message (read again from its start: a new table): two of the three copies count again.
    const short = read(SPOTTER.slice(0, messageStart(SPOTTER, 1)), '/p/a.jsonl', pool);
    assert.deepEqual([...index.sync([source(short), source(b)])], ['/p/b.jsonl']);
    assert.deepEqual(copyRows(b.table), [0]);
    sameTotals([short.table, b.table], [read(resumedLines, 'b-alone.jsonl', new StringPool()).table], 'the original truncated (its one message copied in b)');
    assert.equal(index.holdsMessagesBesides('/p/b.jsonl'), true);
    index.sync([source(b)]);
    assert.equal(index.holdsMessagesBesides('/p/b.jsonl'), false);
  });

  it('starts over when most files go at once (a refresh), with the same marks as an index of the files left', () => {
    // 20 files: each even one a session of its own, each odd one resuming the one before (its copies, then its own).
    const lines = Array.from({ length: 20 }, (_, k) => (k % 2 === 0 ? renamed(SPOTTER, `-s${k}`) : [...copied(renamed(SPOTTER, `-s${k - 1}`)), ...renamed(SPOTTER.slice(0, 20), `-s${k}`)]));
    const path = (k: number) => `/p/${String(k).padStart(2, '0')}.jsonl`;
    const pool = new StringPool();
    const states = lines.map((l, k) => read(l, path(k), pool));
    const index = new CopyIndex();
    index.sync(states.map((s) => source(s)));
    assert.ok(states.every((s, k) => (s.table.copies > 0) === (k % 2 === 1)), 'each resumed session holds copies');
    // 12 go (among them originals whose copies stay, and copies whose originals stay), 8 are left.
    const left = [1, 2, 3, 7, 10, 11, 15, 19];
    index.sync(left.map((k) => source(states[k])));
    assert.equal(index.restarts, 1, 'started over (12 of 20 files gone), not 12 files taken out row by row');
    const fresh = left.map((k) => read(lines[k], path(k), new StringPool()));
    markCopies(fresh.map((s) => source(s)));
    assert.deepEqual(left.map((k) => copyRows(states[k].table)), fresh.map((s) => copyRows(s.table)));
    assert.ok(copyRows(states[3].table).length > 0 && copyRows(states[1].table).length === 0, 'a copy whose original is left stays marked; one whose original went counts');
    assert.equal(index.holdsMessagesBesides(path(1)), true);
    // Then all go, and all come back read again (a refresh): as the first sync.
    index.sync([]);
    assert.equal(index.restarts, 2);
    assert.equal(index.holdsMessagesBesides(path(1)), false);
    const again = lines.map((l, k) => read(l, path(k), pool));
    index.sync(again.map((s) => source(s)));
    const all = lines.map((l, k) => read(l, path(k), new StringPool()));
    markCopies(all.map((s) => source(s)));
    assert.deepEqual(again.map((s) => copyRows(s.table)), all.map((s) => copyRows(s.table)));
    assert.ok(again.every((s, k) => (s.table.copies > 0) === (k % 2 === 1)));
  });

  it('agrees with an index of the files as they are after any sequence of reads, appends, rereads and removals', () => {
    // Four sessions; six files, each a session's lines or a resumed one's (another session's first messages copied,
    // then its own), read in random pieces (a message's lines may be split across appends), read again from their
    // start, or removed. After each step the marks are those of a fresh index over fresh reads of the same lines.
    const sessions = Array.from({ length: 4 }, (_, k) => renamed(SPOTTER, `-r${k}`));
    const random = seededRandom(7);
    const pick = (n: number) => Math.floor(random() * n);
    const contents = Array.from({ length: 6 }, (_, k) => {
      const own = sessions[k % 4];
      if (k < 4) return own;
      const from = sessions[pick(4)];
      return [...copied(from.slice(0, messageStart(from, 1 + pick(6)))), ...renamed(own.slice(0, 25), `-own${k}`)];
    });
    const path = (k: number) => `/q/${k}.jsonl`;
    const pool = new StringPool();
    const index = new CopyIndex();
    const open = new Map<number, { state: TraceFileState; read: number }>();
    for (let step = 0; step < 120; step++) {
      const k = pick(6);
      const f = open.get(k);
      const op = random();
      if (f && op < 0.15) open.delete(k);
      else if (!f || op < 0.3) {
        const state = newTraceFileState(path(k), pool);
        const read = 1 + pick(contents[k].length);
        ingestBytes(state, enc(contents[k].slice(0, read).join('\n') + '\n'), false, prices);
        open.set(k, { state, read });
      } else if (f.read < contents[k].length) {
        const to = f.read + 1 + pick(Math.min(8, contents[k].length - f.read));
        ingestBytes(f.state, enc(contents[k].slice(f.read, to).join('\n') + '\n'), false, prices);
        f.read = to;
      }
      const files = [...open.entries()];
      index.sync(files.map(([, x]) => source(x.state)));
      const fresh = files.map(([j, x]) => read(contents[j].slice(0, x.read), path(j), new StringPool()));
      markCopies(fresh.map((x) => source(x)));
      assert.deepEqual(files.map(([, x]) => copyRows(x.state.table)), fresh.map((x) => copyRows(x.table)), `step ${step}`);
    }
  });

  it('takes in appended lines: a copy appended later, and an original appended after its copy was read', () => {
    const pool = new StringPool();
    const a = newTraceFileState('/p/a.jsonl', pool);
    const b = newTraceFileState('/p/b.jsonl', pool);
    const index = new CopyIndex();
    const feed = (s: TraceFileState, lines: readonly string[]) => {
      ingestBytes(s, enc(lines.map((l) => l + '\n').join('')), false, prices);
      index.sync([source(a), source(b)]);
    };
    const m1 = messageStart(SPOTTER, 1);
    const m2 = messageStart(SPOTTER, 2);
    feed(b, copied(SPOTTER.slice(0, m2))); // the copy first: it counts while it is alone
    assert.equal(b.table.copies, 0);
    feed(a, SPOTTER.slice(0, m1)); // the original's first message: the copy of it is marked
    assert.deepEqual(copyRows(b.table), [0]);
    feed(a, SPOTTER.slice(m1)); // the rest of the original
    assert.deepEqual(copyRows(b.table), [0, 1]);
    sameTotals([a.table, b.table], [read(SPOTTER, 'one.jsonl', new StringPool()).table], 'appended');
  });

  it('keeps a copy marked when a later line of its message replaces its row in place', () => {
    const pool = new StringPool();
    const a = read(SPOTTER, '/p/a.jsonl', pool);
    const b = newTraceFileState('/p/b.jsonl', pool);
    // A message streamed over two lines, the first with fewer output tokens than the last (which supersedes it).
    const last = copied([SPOTTER[messageStart(SPOTTER, 6)]])[0];
    const o = JSON.parse(last);
    const first = JSON.stringify({ ...o, message: { ...o.message, usage: { ...o.message.usage, output_tokens: 2 } } });
    ingestBytes(b, enc(first + '\n'), false, prices);
    markCopies([source(a), source(b)]);
    assert.deepEqual(copyRows(b.table), [0]);
    const edits = b.table.edits;
    ingestBytes(b, enc(last + '\n'), true, prices);
    assert.equal(b.table.edits, edits + 1, 'the row was replaced by the later line');
    assert.equal(b.table.outputTokens[0], o.message.usage.output_tokens);
    assert.deepEqual(copyRows(b.table), [0], 'still a copy');
    assert.equal(b.table.copies, 1);
  });

  it('marks only Claude Code calls: other shapes, with or without ids, are never matched', () => {
    const pool = new StringPool();
    const flat = (id: string) => JSON.stringify({ id, model: 'gpt-4o', input_tokens: 10, output_tokens: 5, timestamp: '2026-01-01T00:00:00Z' });
    const x = read([flat('msg_016xcKQRzQXv2gLKoiSyUZxc'), flat('c2')], '/p/x.jsonl', pool);
    const y = read([flat('msg_016xcKQRzQXv2gLKoiSyUZxc'), flat('c2')], '/p/y.jsonl', pool);
    const a = read(SPOTTER, '/p/z.jsonl', pool);
    assert.equal(x.ctx.claudeCode, undefined);
    assert.equal(a.ctx.claudeCode, true);
    assert.equal(markCopies([source(x), source(y), source(a)]).size, 0);
    assert.equal(totals([x.table, y.table, a.table]).calls, 16);
  });
});

describe('every figure leaves the copies out', () => {
  /** A Claude Code line of message `id` in session `s` (several groups: models, branches, agents; some undated). */
  const cc = (id: number, session: string) =>
    JSON.stringify({
      type: 'assistant',
      sessionId: session,
      uuid: `u${id}`,
      requestId: `req_${id}`,
      ...(id % 11 === 0 ? {} : { timestamp: new Date(Date.UTC(2026, 0, 1) + id * 60_000).toISOString() }),
      ...(id % 2 ? { gitBranch: id % 3 ? 'main' : 'fix' } : { isSidechain: true }),
      message: { id: `msg_${id}`, model: id % 3 ? 'claude-sonnet-4-5-20250929' : 'claude-opus-4-1', usage: { input_tokens: 10 + id, output_tokens: 1 + (id % 7), cache_read_input_tokens: 1000, cache_creation_input_tokens: id % 5 ? 0 : 300 } },
    });
  /** Messages [from, to) of a session. */
  const msgs = (from: number, to: number, session: string) => Array.from({ length: to - from }, (_, k) => cc(from + k, session));
  /** One file holding each message of the ranges once: what the files should add up to. */
  const merged = (...ranges: [number, number][]) => read(ranges.flatMap(([f, t]) => msgs(f, t, 'M')), 'merged.jsonl', new StringPool()).table;
  const optsOf = (sinceMs?: number): GroupIndexOptions => ({ dims: ['tag:gitBranch', 'agent', 'model'], source: 'auto', sinceMs });

  function fresh(tables: CallTable[], opts: GroupIndexOptions): GroupIndex {
    const index = new GroupIndex();
    index.sync(tables, opts);
    return index;
  }

  /** The same groups with the same figures, level by level (rows aside: those of other tables). */
  function sameFigures(got: GroupIndex, want: GroupIndex, dims: readonly string[]) {
    assert.equal(got.undated, want.undated, 'undated');
    const walk = (g: IndexNode | undefined, w: IndexNode | undefined, depth: number) => {
      sameStats((g ?? got.total!).stats, (w ?? want.total!).stats, (w ?? want.total!).id || 'root', true);
      if (depth >= dims.length) return;
      const gk = got.children(g);
      const wk = want.children(w);
      assert.deepEqual(gk.map((n) => n.value).sort(), wk.map((n) => n.value).sort());
      for (const wn of wk) walk(gk.find((n) => n.value === wn.value), wn, depth + 1);
    };
    walk(undefined, undefined, 0);
  }

  it('the tree index takes marks in and out as rows replaced in place, and agrees with one built from scratch and with the files merged', () => {
    for (const sinceMs of [undefined, Date.UTC(2026, 0, 1, 1)]) {
      const opts = optsOf(sinceMs);
      const pool = new StringPool();
      const a = read(msgs(0, 200, 'A'), '/p/a.jsonl', pool);
      const b = read(msgs(120, 260, 'B'), '/p/b.jsonl', pool); // resumed from a: messages 120-199 copied
      const c = read(msgs(0, 40, 'C'), '/p/c.jsonl', pool); // a fork of a's first messages
      const index = new GroupIndex();
      index.sync([a.table, b.table, c.table], opts); // read before the marks: every row counted
      const marks = new CopyIndex();
      marks.sync([source(a), source(b), source(c)]);
      assert.deepEqual([a.table.copies, b.table.copies, c.table.copies], [0, 80, 40]);
      assert.equal(index.sync([a.table, b.table, c.table], opts), 'appended', 'taken in place, not regrouped');
      assert.equal(index.rebuilds, 1);
      sameIndex(index, fresh([a.table, b.table, c.table], opts), opts.dims);
      sameFigures(index, fresh([merged([0, 260])], opts), opts.dims);
      // The original removed: its copies count again (c's, b's).
      marks.sync([source(b), source(c)]);
      assert.deepEqual([b.table.copies, c.table.copies], [0, 0]);
      index.sync([b.table, c.table], opts);
      sameIndex(index, fresh([b.table, c.table], opts), opts.dims);
      sameFigures(index, fresh([merged([0, 40], [120, 260])], opts), opts.dims);
      // Copies appended to c of messages b holds (b is first by path): left out as they come, in place.
      ingestBytes(c, enc(msgs(130, 150, 'C').join('\n') + '\n'), true, prices);
      index.sync([b.table, c.table], opts);
      marks.sync([source(b), source(c)]);
      assert.deepEqual([b.table.copies, c.table.copies], [0, 20]);
      const rebuilds = index.rebuilds;
      assert.equal(index.sync([b.table, c.table], opts), 'appended');
      assert.equal(index.rebuilds, rebuilds);
      sameIndex(index, fresh([b.table, c.table], opts), opts.dims);
      sameFigures(index, fresh([merged([0, 40], [120, 260])], opts), opts.dims);
      if (sinceMs !== undefined) assert.equal(index.undated, countUndated([merged([0, 40], [120, 260])], { sinceMs }));
    }
  });

  it('marks more rows at once than a table logs as one edit, after which the tree index starts over and agrees', () => {
    const opts = optsOf();
    const pool = new StringPool();
    const a = read(msgs(0, 1500, 'A'), '/p/a.jsonl', pool);
    const fork = read(msgs(0, 1500, 'F'), '/p/f.jsonl', pool);
    const index = new GroupIndex();
    index.sync([a.table, fork.table], opts);
    const edits = fork.table.edits;
    markCopies([source(a), source(fork)]);
    assert.equal(fork.table.copies, 1500);
    assert.equal(fork.table.edits, edits + 1, 'one edit');
    assert.equal(index.sync([a.table, fork.table], opts), 'rebuilt');
    sameIndex(index, fresh([a.table, fork.table], opts), opts.dims);
    sameFigures(index, fresh([a.table], opts), opts.dims);
  });

  it('the first level summed ahead, the dashboard, budgets, reports and the signals worker count the copies once', () => {
    const pool = new StringPool();
    const a = read(msgs(0, 200, 'A'), '/p/a.jsonl', pool);
    const b = read(msgs(120, 260, 'B'), '/p/b.jsonl', pool);
    markCopies([source(a), source(b)]);
    const one = merged([0, 260]);
    const tables = [a.table, b.table];
    // The first level from the tables, as the tree shows the other files' calls beside a file being loaded.
    const level = (ts: CallTable[]) => {
      const l = previewLevel(ts.map(tablePart), { dim: 'model', source: 'auto' })!;
      return Object.fromEntries(l.groups.map((g) => [g.value, [g.calls, g.pricedCalls, g.costUsd.toFixed(9)]]));
    };
    assert.deepEqual(level(tables), level([one]));
    // The dashboard and budgets.
    const now = Date.UTC(2026, 0, 2);
    const query = { range: 'all' as const, groupBy: 'model', filters: [] };
    const dash = buildDashboardSnapshot(tables, query, now).total;
    const dashWant = buildDashboardSnapshot([one], query, now).total;
    assert.equal(dash.calls, dashWant.calls);
    assertUsd(dash.costUsd, dashWant.costUsd);
    const budget = [{ scope: 'total', period: 'month' as const, usd: 100 }];
    const spent = budgetStatus(tables, budget, now)[0];
    const spentWant = budgetStatus([one], budget, now)[0];
    assert.equal(spent.calls, spentWant.calls);
    assertUsd(spent.spentUsd, spentWant.spentUsd);
    // A report: the totals, and each file's calls counted and copies left out.
    const report = buildReport([a, b], { by: ['model'] });
    const reportWant = buildReport([{ ...a, table: one }], { by: ['model'] });
    assert.equal(report.total.calls, reportWant.total.calls);
    assertUsd(report.total.costUsd!, reportWant.total.costUsd!);
    assert.deepEqual(report.files.map((f) => [f.file, f.calls, f.copies]), [['/p/a.jsonl', 200, undefined], ['/p/b.jsonl', 60, 80]]);
    // The signals worker reads the tables' shared columns: the marks come with them.
    const shared = tables.map((t) => CallTable.fromShared(pool, t.shareColumns()));
    assert.deepEqual(shared.map((t) => t.copies), [0, 80]);
    assert.equal(stats(select(shared)).calls, 260);
    const job = { kind: 'dashboard' as const, query, nowMs: now, source: 'auto' as const };
    const inWorker = runSignalsJob(shared, job).total;
    assert.equal(inWorker.calls, dashWant.calls);
    assertUsd(inWorker.costUsd, dashWant.costUsd);
  });

  it('keeps the mark that a file holds Claude Code messages across threads and the state cache', () => {
    const a = read(msgs(0, 10, 'A'), 'a.jsonl', new StringPool());
    const packed = packState(a).packed;
    assert.equal(packed.ctx.claudeCode, true);
    assert.equal(unpackState(packed, new StringPool()).ctx.claudeCode, true);
    const joined = joinContext(packed.ctx);
    assert.equal(joined.claudeCode, true);
    assert.equal(unpackContext({ file: 'a.jsonl', ctx: joined }).claudeCode, true);
    const flat = read([JSON.stringify({ model: 'gpt-4o', input_tokens: 1, output_tokens: 1 })], 'f.jsonl', new StringPool());
    assert.equal('claudeCode' in packState(flat).packed.ctx, false, 'packed only when set');
  });
});
