import * as assert from 'node:assert/strict';
import { appendFileSync, chmodSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { type CallTable, StringPool } from '../../../src/core/callTable';
import { GroupIndex, type GroupIndexOptions } from '../../../src/core/groupIndex';
import { PriceBook } from '../../../src/core/pricing';
import { readTraceFile, warmUpReader, warmUpReaderInTurns } from '../../../src/node/traceReader';
import { setWasmScanning, wasmInPlaceScans } from '../../../src/core/fastScan';
import { assertSameState } from '../core/fastScan.test';
import { sameIndex } from '../helpers';

const line = (i: number) => JSON.stringify({ model: 'gpt-4o', input_tokens: 1000 + i, output_tokens: 10, metadata: { feature: `f${i % 3}` } }) + '\n';

describe('readTraceFile', () => {
  let dir: string;
  const opts = () => ({ pool: new StringPool(), prices: new PriceBook(), final: false });
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'lcl-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads only the appended bytes on the next read, and keeps line numbers', () => {
    const f = join(dir, 't.jsonl');
    writeFileSync(f, line(0) + line(1));
    const o = opts();
    const a = readTraceFile(f, o);
    assert.equal(a.added, 2);
    assert.equal(a.reloaded, true);
    appendFileSync(f, line(2));
    const b = readTraceFile(f, { ...o, state: a.state });
    assert.equal(b.reloaded, false);
    assert.equal(b.added, 1);
    assert.equal(b.state.table.length, 3);
    assert.equal(b.state.table.line[2], 3);
  });

  it('waits for the newline of a half-written last line', () => {
    const f = join(dir, 't.jsonl');
    const l = line(1);
    writeFileSync(f, line(0) + l.slice(0, 20));
    const o = opts();
    const a = readTraceFile(f, o);
    assert.equal(a.state.table.length, 1);
    assert.equal(a.state.problems.length, 0);
    appendFileSync(f, l.slice(20));
    const b = readTraceFile(f, { ...o, state: a.state });
    assert.equal(b.added, 1);
    assert.equal(b.state.problems.length, 0);
  });

  it('reloads a truncated file from the start', () => {
    const f = join(dir, 't.jsonl');
    writeFileSync(f, line(0) + line(1) + line(2));
    const o = opts();
    const a = readTraceFile(f, o);
    truncateSync(f, 0);
    writeFileSync(f, line(5));
    const b = readTraceFile(f, { ...o, state: a.state });
    assert.equal(b.reloaded, true);
    assert.equal(b.state.table.length, 1);
    assert.equal(b.state.table.inputTokens[0], 1005);
  });

  it('reloads a file replaced by another (rotation), even when it is larger', () => {
    const f = join(dir, 't.jsonl');
    writeFileSync(f, line(0));
    const o = opts();
    const a = readTraceFile(f, o);
    const g = join(dir, 'new.jsonl');
    writeFileSync(g, line(7) + line(8) + line(9));
    renameSync(g, f);
    const b = readTraceFile(f, { ...o, state: a.state });
    assert.equal(b.reloaded, true);
    assert.deepEqual(Array.from(b.state.table.inputTokens.subarray(0, 3)), [1007, 1008, 1009]);
  });

  it('reloads a file truncated and written again larger with the same first bytes (same inode)', () => {
    const f = join(dir, 't.jsonl');
    writeFileSync(f, line(0) + line(1));
    const o = opts();
    const a = readTraceFile(f, o);
    const ino = statSync(f).ino;
    // A new run writes the same first line (more than the 64 bytes of the head) and then other calls.
    writeFileSync(f, line(0) + line(5) + line(6) + line(7));
    assert.equal(statSync(f).ino, ino);
    const b = readTraceFile(f, { ...o, state: a.state });
    assert.equal(b.reloaded, true);
    assert.deepEqual(Array.from(b.state.table.inputTokens.subarray(0, b.state.table.length)), [1000, 1005, 1006, 1007]);
  });

  it('keeps appending (no reload) after several appends, the sample before the offset moving along', () => {
    const f = join(dir, 't.jsonl');
    writeFileSync(f, line(0));
    const o = opts();
    let s = readTraceFile(f, o).state;
    for (let i = 1; i < 5; i++) {
      appendFileSync(f, line(i));
      const r = readTraceFile(f, { ...o, state: s });
      assert.equal(r.reloaded, false, `append ${i}`);
      s = r.state;
    }
    assert.equal(s.table.length, 5);
    assert.equal(s.fingerprint?.tailEnd, statSync(f).size);
  });

  it('never writes to the trace file (works on a read-only file)', () => {
    const f = join(dir, 't.jsonl');
    writeFileSync(f, line(0));
    chmodSync(f, 0o444);
    const before = statSync(f).mtimeMs;
    readTraceFile(f, { ...opts(), final: true });
    assert.equal(statSync(f).mtimeMs, before);
  });

  it("reads chunks in the WebAssembly loop's input window, in place, as the JavaScript reader does: many windows a chunk, lines across chunks, a line longer than a chunk, an unfinished last line", () => {
    const f = join(dir, 'inplace.jsonl');
    // Short lines (more than one scan takes in a chunk of the window's size), a line of 1.5 MB (the chunk moves to a
    // buffer of its own), more short lines, and a last line without its end yet.
    const short = (i: number) => JSON.stringify({ model: i % 3 ? 'gpt-4o' : 'claude-sonnet-4-5', input_tokens: i, output_tokens: 1, trace_id: `t${i >> 1}`, metadata: { feature: `f${i % 5}` } });
    const head = Array.from({ length: 30_000 }, (_, i) => short(i));
    const long = JSON.stringify({ model: 'gpt-4o', input_tokens: 7, output_tokens: 1, pad: 'x'.repeat(1_500_000) });
    const tail = Array.from({ length: 30_000 }, (_, i) => short(30_000 + i));
    const last = short(60_000);
    writeFileSync(f, [...head, long, ...tail].join('\n') + '\n' + last.slice(0, 30));
    const read = (wasm: boolean) => {
      setWasmScanning(wasm);
      try {
        const o = opts();
        const before = wasmInPlaceScans();
        const a = readTraceFile(f, o);
        const inPlace = wasmInPlaceScans() - before;
        appendFileSync(f, last.slice(30) + '\n');
        const b = readTraceFile(f, { ...o, state: a.state });
        truncateSync(f, statSync(f).size - last.length + 30 - 1);
        return { first: a, state: b.state, inPlace };
      } finally {
        setWasmScanning(true);
      }
    };
    const w = read(true);
    const js = read(false);
    assert.ok(w.inPlace >= 4, `scans in place: ${w.inPlace}`);
    assert.equal(w.first.added, 60_001);
    assert.equal(w.state.table.length, 60_002);
    assertSameState(w.state, js.state, 'in place');
  });

  it("keeps its chunks intact when another read runs on the thread from its callbacks (that one does not use the loop's window)", () => {
    // From an independent review: a read nested in another's progress callback overwrote the line start the outer read
    // kept in the loop's input window between chunks (19,991 rows of 20,000, and false errors).
    const a = join(dir, 'a.jsonl');
    const b = join(dir, 'b.jsonl');
    const lines = (n: number, tag: string) => Array.from({ length: n }, (_, i) => JSON.stringify({ model: 'gpt-4o', input_tokens: i + 1, output_tokens: 1, trace_id: `${tag}${i >> 1}`, metadata: { feature: `f${i % 7}`, user_id: `u${i % 41}` } }));
    writeFileSync(a, lines(30_000, 'a').join('\n') + '\n');
    writeFileSync(b, lines(12_000, 'b').join('\n') + '\n'); // (more than the window: its scans cover all of it)
    const o = () => ({ pool: new StringPool(), prices: new PriceBook(), final: true });
    const ref = readTraceFile(a, { ...o(), fast: false }).state;
    let nested = 0;
    const before = wasmInPlaceScans();
    const got = readTraceFile(a, {
      ...o(),
      onProgress: () => {
        nested++;
        assert.equal(readTraceFile(b, o()).state.table.length, 12_000, 'the nested read');
      },
    }).state;
    assert.ok(nested > 1 && wasmInPlaceScans() > before, `${nested} nested reads; the outer read in place`);
    assertSameState(got, ref, 'the outer read');
  });

  it('reads a file bigger than one chunk with lines across chunk boundaries', () => {
    const f = join(dir, 'big.jsonl');
    const pad = 'p'.repeat(900);
    const lines: string[] = [];
    for (let i = 0; i < 40_000; i++) lines.push(JSON.stringify({ model: 'gpt-4o', input_tokens: i, output_tokens: 1, pad }));
    writeFileSync(f, lines.join('\n') + '\n');
    const r = readTraceFile(f, { ...opts(), final: true });
    assert.equal(r.state.table.length, 40_000);
    assert.equal(r.state.problems.length, 0);
    assert.equal(r.state.table.inputTokens[39_999], 39_999);
  });
});

describe('readTraceFile: files that are not text', () => {
  let dir: string;
  const opts = () => ({ pool: new StringPool(), prices: new PriceBook(), final: true });
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'lcl-bin-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const messages = (s: { problems: { line: number; message: string }[] }) => s.problems.map((p) => `${p.line}: ${p.message}`);
  // An executable's start (ELF header: NUL at offset 7) and many newlines after it: hundreds of "lines".
  const binary = Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, ...Array.from({ length: 20000 }, (_, i) => (i % 40 === 0 ? 10 : i % 251))]);
  const u16 = (s: string, le = true) => Buffer.from([...s].flatMap((c) => (le ? [c.charCodeAt(0), 0] : [0, c.charCodeAt(0)])));

  for (const fast of [true, false]) {
    it(`reports a binary file once and reads nothing from it, appended bytes included (fast=${fast})`, () => {
      const f = join(dir, 'x.jsonl');
      writeFileSync(f, binary);
      const o = { ...opts(), fast, final: false };
      const a = readTraceFile(f, o);
      assert.deepEqual(messages(a.state), ['1: Not a text file: looks like an ELF executable (magic bytes 7F 45 4C 46); not read']);
      assert.equal(a.state.table.length, 0);
      assert.equal(a.state.position.offset, binary.length);
      appendFileSync(f, line(0) + 'not json\n');
      const b = readTraceFile(f, { ...o, state: a.state });
      assert.equal(b.reloaded, false);
      assert.equal(b.added, 0);
      assert.equal(b.state.problems.length, 1);
      // Rewritten as a trace: read again from the start, as text.
      writeFileSync(f, line(1) + line(2));
      const c = readTraceFile(f, { ...o, state: b.state });
      assert.equal(c.reloaded, true);
      assert.equal(c.state.notText, undefined);
      assert.equal(c.state.table.length, 2);
      assert.deepEqual(c.state.problems, []);
    });
  }

  it('says a gzip file looks compressed', () => {
    const f = join(dir, 'g.jsonl');
    writeFileSync(f, gzipSync(line(0) + line(1)));
    assert.deepEqual(messages(readTraceFile(f, opts()).state), ['1: Not a text file: looks compressed (gzip, magic bytes 1F 8B); decompress it first; not read']);
  });

  it('says UTF-16 text should be saved as UTF-8 (either byte order), and still reads UTF-8 with a byte order mark', () => {
    const le = join(dir, 'le.jsonl');
    writeFileSync(le, Buffer.concat([Buffer.from([0xff, 0xfe]), u16(line(0) + line(1))]));
    assert.deepEqual(messages(readTraceFile(le, opts()).state), ['1: UTF-16 text (byte order mark FF FE): save it as UTF-8; not read']);
    const be = join(dir, 'be.jsonl');
    writeFileSync(be, Buffer.concat([Buffer.from([0xfe, 0xff]), u16(line(0), false)]));
    assert.deepEqual(messages(readTraceFile(be, opts()).state), ['1: UTF-16 text (byte order mark FE FF): save it as UTF-8; not read']);
    const bom = join(dir, 'bom.jsonl');
    writeFileSync(bom, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(line(0) + line(1))]));
    const s = readTraceFile(bom, opts()).state;
    assert.equal(s.table.length, 2);
    assert.deepEqual(s.problems, []);
  });

  for (const fast of [true, false]) {
    it(`reads a log with NUL bytes after its first line (a crash's padding) the same whole or as it grows (fast=${fast})`, () => {
      const f = join(dir, 'x.jsonl');
      const o = { ...opts(), fast, final: false };
      writeFileSync(f, line(0));
      const a = readTraceFile(f, o);
      appendFileSync(f, Buffer.concat([Buffer.alloc(4), Buffer.from('\n' + line(1))]));
      const grown = readTraceFile(f, { ...o, state: a.state }).state;
      const whole = readTraceFile(f, o).state;
      for (const s of [grown, whole]) {
        assert.equal(s.notText, undefined);
        assert.equal(s.table.length, 2);
        assert.deepEqual(s.problems.map((p) => p.line), [2]);
      }
      assert.deepEqual(messages(whole), messages(grown));
    });
  }

  it('checks a file that was empty when first read once bytes arrive', () => {
    const f = join(dir, 'x.jsonl');
    writeFileSync(f, '');
    const o = { ...opts(), final: false };
    const a = readTraceFile(f, o);
    appendFileSync(f, binary);
    const b = readTraceFile(f, { ...o, state: a.state });
    assert.deepEqual(messages(b.state), ['1: Not a text file: looks like an ELF executable (magic bytes 7F 45 4C 46); not read']);
  });
});

describe('warmUpReader', () => {
  it('reads the end of a file into a throwaway table and leaves the file alone, also run by run between turns', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lcl-warm-'));
    try {
      const file = join(dir, 't.jsonl');
      const line = (i: number) => JSON.stringify({ model: 'gpt-4o', input_tokens: i, output_tokens: 1, metadata: { feature: `f${i}` } });
      writeFileSync(file, Array.from({ length: 3000 }, (_, i) => line(i)).join('\n') + '\n{"model":"gpt-4o","inp');
      const before = readFileSync(file);
      const prices = new PriceBook();
      assert.ok(warmUpReader(file, prices, 4096) >= 0);
      assert.ok(warmUpReader(file, prices) >= 0, 'a file smaller than the window is read whole');
      let turns = 0;
      const r = await warmUpReaderInTurns(file, prices, async () => void turns++);
      assert.equal(turns, 4, 'five runs, a turn between each');
      assert.ok(r.longestMs <= r.totalMs);
      assert.deepEqual(readFileSync(file), before);
      assert.ok(prices.resolve('gpt-4o'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('readTraceFile and the cost tree: Claude Code messages completed by appended lines', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'lcl-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** A Claude Code transcript line of message `id` (streaming writes it once per content block, the usage growing). */
  const cc = (id: number, out: number, extra: Record<string, unknown> = {}) =>
    JSON.stringify({
      type: 'assistant',
      sessionId: 's1',
      uuid: `u${id}-${out}`,
      timestamp: new Date(Date.UTC(2026, 0, 1) + id * 60_000 + out).toISOString(),
      message: { id: `msg_${id}`, model: id % 3 ? 'claude-sonnet-4-5-20250929' : 'claude-opus-4-1', usage: { input_tokens: 10 + id, output_tokens: out, cache_read_input_tokens: 1000, cache_creation_input_tokens: id % 5 ? 0 : 300 } },
      ...extra,
    }) + '\n';

  it('moves each completed message to its groups now without regrouping the file', () => {
    const f = join(dir, 'session.jsonl');
    let text = '';
    for (let id = 0; id < 400; id++) text += cc(id, 1); // no branch yet: the tree's first level has no column to read
    writeFileSync(f, text);
    const o = { pool: new StringPool(), prices: new PriceBook(), final: false };
    const first = readTraceFile(f, o);
    assert.equal(first.state.table.length, 400);
    const opts = { dims: ['gitBranch', 'agent', 'model'], source: 'auto' as const };
    const index = new GroupIndex();
    assert.equal(index.sync([first.state.table], opts), 'rebuilt');
    sameIndex(index, fresh(first.state.table, opts), opts.dims);
    // Later lines of 300 messages (more output, a branch for some, a subagent for others) and 50 new messages.
    let more = '';
    for (let id = 50; id < 350; id++) more += cc(id, 5 + id, id % 2 ? { gitBranch: id % 3 ? 'main' : 'fix' } : { isSidechain: true });
    for (let id = 400; id < 450; id++) more += cc(id, 3);
    appendFileSync(f, more);
    const next = readTraceFile(f, { ...o, state: first.state });
    assert.equal(next.reloaded, false);
    assert.equal(next.added, 50);
    const t = next.state.table;
    assert.equal(t.length, 450);
    assert.equal(t.edits, 300);
    assert.equal(index.sync([t], opts), 'appended');
    assert.equal(index.rebuilds, 1, 'no regrouping');
    assert.equal(index.replacedRows, 300);
    sameIndex(index, fresh(t, opts), opts.dims);
    assert.deepEqual(index.children().map((n) => n.value).sort(), ['(unattributed)', 'fix', 'main']);
  });
});

function fresh(t: CallTable, opts: GroupIndexOptions): GroupIndex {
  const index = new GroupIndex();
  index.sync([t], opts);
  return index;
}
