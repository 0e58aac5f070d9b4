import * as assert from 'node:assert/strict';
import { describeJsonError, notTextReason, scanJsonDocuments, TEXT_SNIFF_BYTES } from '../../../src/core/jsonl';
import { StringPool } from '../../../src/core/callTable';
import { PriceBook } from '../../../src/core/pricing';
import { ingestBytes, newTraceFileState } from '../../../src/core/traceFile';

const enc = (s: string) => new TextEncoder().encode(s);
const scan = (s: string | Uint8Array, final = true, offset = 0, line = 1) =>
  scanJsonDocuments(typeof s === 'string' ? enc(s) : s, { offset, line }, { file: 't.jsonl', final });

describe('scanJsonDocuments', () => {
  it('reads one document per line and numbers lines from 1', () => {
    const r = scan('{"a":1}\n{"a":2}\n{"a":3}\n');
    assert.deepEqual(r.docs.map((d) => [d.line, (d.value as { a: number }).a]), [[1, 1], [2, 2], [3, 3]]);
    assert.equal(r.problems.length, 0);
    assert.deepEqual(r.next, { offset: 24, line: 4 });
  });

  it('copes with CRLF, a UTF-8 BOM and blank lines', () => {
    const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...enc('{"a":1}\r\n\r\n   \r\n{"a":2}\r\n')]);
    const r = scan(bytes);
    assert.deepEqual(r.docs.map((d) => d.line), [1, 4]);
    assert.equal(r.problems.length, 0);
  });

  it('reports line 2 as not JSON and line 3 as malformed, and keeps the other calls', () => {
    const r = scan('{"a":1}\nhello world\n{"a":\n{"a":4}\n');
    assert.deepEqual(r.docs.map((d) => d.line), [1, 4]);
    assert.deepEqual(r.problems.map((p) => [p.line, p.message.split(':')[0]]), [[2, 'Not JSON'], [3, 'Malformed JSON']]);
    assert.ok(r.problems.every((p) => p.file === 't.jsonl' && p.severity === 'error'));
  });

  it('says at which column of the line a malformed line goes wrong, not "line 1" of the line', () => {
    // Line 2's string is not closed (column 11, its end); line 3 misses a comma at its 11th character (spaces count).
    const r = scan('{"a":1}\n{"a":"open\n   {"b":1 "c":2}\n');
    assert.deepEqual(r.problems.map((p) => p.line), [2, 3]);
    assert.match(r.problems[0].message, /^Malformed JSON: Unterminated string in JSON at column 11$/);
    assert.match(r.problems[1].message, /^Malformed JSON: .* at column 11$/);
    // Node 22 on adds "(line 1 column N)" to V8's position: the line is the file's line, not the text's line 1.
    assert.equal(describeJsonError(new Error('Unterminated string in JSON at position 106 (line 1 column 107)'), 0), 'Unterminated string in JSON at column 107');
    assert.equal(describeJsonError(new Error('Unexpected end of JSON input'), 4), 'Unexpected end of JSON input');
    // A pretty-printed document's message keeps V8's own line and column (within the document).
    assert.equal(describeJsonError(new Error('Bad control character in string literal in JSON at position 30 (line 3 column 9)')), 'Bad control character in string literal in JSON at position 30 (line 3 column 9)');
  });

  it('reports a JSON value that is not an object', () => {
    const r = scan('42\n"text"\nnull\n{"ok":true}\n');
    assert.equal(r.docs.length, 1);
    assert.deepEqual(r.problems.map((p) => p.line), [1, 2, 3]);
  });

  it('holds back a half-written last line until its newline arrives', () => {
    const whole = '{"a":1}\n{"a":2,"b":';
    const r = scan(whole, false);
    assert.equal(r.docs.length, 1);
    assert.equal(r.problems.length, 0, 'an unfinished line is not a problem yet');
    assert.deepEqual(r.next, { offset: 8, line: 2 });
    // The rest arrives: resume from the held-back offset.
    const rest = enc('{"a":2,"b":3}\n');
    const r2 = scanJsonDocuments(rest, r.next, { file: 't.jsonl', final: false });
    assert.deepEqual(r2.docs.map((d) => [d.line, d.value]), [[2, { a: 2, b: 3 }]]);
    assert.deepEqual(r2.next, { offset: 8 + rest.length, line: 3 });
  });

  it('takes a complete last object without a newline, and reports an incomplete one when the file is final', () => {
    assert.equal(scan('{"a":1}\n{"a":2}', false).docs.length, 2);
    const r = scan('{"a":1}\n{"a":2', true);
    assert.equal(r.docs.length, 1);
    assert.match(r.problems[0].message, /incomplete last line/);
    assert.equal(r.problems[0].line, 2);
  });

  it('gives the same documents when the bytes arrive in two pieces at any split', () => {
    const text = '{"a":1}\r\n\n{"b":"é ü"}\n{\n  "c": [1, 2]\n}\nnot json\n{"d":4}\n';
    const all = enc(text);
    const whole = scan(all);
    for (let cut = 0; cut <= all.length; cut++) {
      const first = scanJsonDocuments(all.subarray(0, cut), { offset: 0, line: 1 }, { file: 't', final: false });
      const second = scanJsonDocuments(all.subarray(first.next.offset), first.next, { file: 't', final: true });
      assert.deepEqual([...first.docs, ...second.docs], whole.docs, `split at ${cut}`);
      assert.deepEqual([...first.problems, ...second.problems].map((p) => p.line), whole.problems.map((p) => p.line), `split at ${cut}`);
    }
  });

  it('reads very long lines', () => {
    const big = 'x'.repeat(5_000_000);
    const r = scan(`{"a":"${big}"}\n{"b":1}\n`);
    assert.equal(r.docs.length, 2);
    assert.equal((r.docs[0].value as { a: string }).a.length, 5_000_000);
  });

  it('decodes invalid UTF-8 as replacement characters without losing the record', () => {
    const bytes = new Uint8Array([...enc('{"user":"'), 0xff, 0xfe, ...enc('"}\n{"ok":1}\n')]);
    const r = scan(bytes);
    assert.equal(r.docs.length, 2);
    assert.equal((r.docs[0].value as { user: string }).user, '\ufffd\ufffd');
  });

  it('reads pretty-printed documents written one after another, on their first line', () => {
    const text = '{\n  "resourceSpans": [\n    {"x": "a } b"}\n  ]\n}\n{\n  "resourceSpans": []\n}\n{"flat":1}\n';
    const r = scan(text);
    assert.deepEqual(r.docs.map((d) => d.line), [1, 6, 9]);
    assert.equal(r.problems.length, 0);
  });

  it('reports a pretty-printed document cut short and reads the next one', () => {
    const text = '{\n  "a": 1,\n{\n  "b": 2\n}\n';
    const r = scan(text);
    assert.deepEqual(r.docs.map((d) => [d.line, d.value]), [[3, { b: 2 }]]);
    assert.equal(r.problems[0].line, 1);
    assert.match(r.problems[0].message, /Unterminated/);
  });

  it('holds back a pretty-printed document still being written', () => {
    const r = scan('{"a":1}\n{\n  "b": 2,\n', false);
    assert.equal(r.docs.length, 1);
    assert.deepEqual(r.next, { offset: 8, line: 2 });
    assert.equal(r.problems.length, 0);
  });

  it('never throws on random bytes', () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let k = 0; k < 200; k++) {
      const b = new Uint8Array(200);
      for (let i = 0; i < b.length; i++) b[i] = rnd() < 0.1 ? 10 : Math.floor(rnd() * 256);
      scan(b, rnd() < 0.5);
    }
  });
});

describe('hostile documents', () => {
  const good = JSON.stringify({ model: 'gpt-4o', input_tokens: 1000, output_tokens: 100, metadata: { feature: 'chat' } });
  const deep = '['.repeat(100_000) + ']'.repeat(100_000);
  const deepObj = '{"a":'.repeat(50_000) + '1' + '}'.repeat(50_000);
  // One line holding an array of 200,000 records: more than a spread argument list takes.
  const huge = `[${Array.from({ length: 200_000 }, () => '{"model":"gpt-4o","input_tokens":1,"output_tokens":1}').join(',')}]`;
  const nested9 = '['.repeat(9) + good + ']'.repeat(9);
  const text = [good, deep, deepObj, huge, nested9, good].join('\n') + '\n';

  for (const fast of [false, true]) {
    it(`a deeply nested line or a huge array line costs only itself (fast=${fast})`, () => {
      const state = newTraceFileState('hostile.jsonl', new StringPool());
      ingestBytes(state, enc(text), true, new PriceBook(), { fast });
      // Lines 1, 6 and the 200,000 records of line 4 are read; line 3 (an object 50,000 deep) holds no call.
      assert.equal(state.table.length, 200_002);
      assert.equal(state.ctx.ignored, 1);
      const lines = state.problems.map((p) => p.line);
      assert.deepEqual([...new Set(lines)].sort(), [2, 5], JSON.stringify(state.problems.map((p) => `${p.line}: ${p.message}`)));
      assert.ok(state.problems.every((p) => p.file === 'hostile.jsonl' && p.message.length > 0));
    });
  }
});

describe('arrays that cannot hold a record', () => {
  const read = (text: string, fast: boolean) => {
    const state = newTraceFileState('t.jsonl', new StringPool());
    ingestBytes(state, enc(text), true, new PriceBook(), { fast });
    return state.problems.map((p) => `${p.line}: ${p.message}`);
  };
  for (const fast of [false, true]) {
    it(`reports a line holding plain values once, not once per element, pretty-printed too (fast=${fast})`, () => {
      assert.deepEqual(read('[1,2,3]\n["a",null]\n{"a":1}\n[]\n[{"a":1}, 2]\n[[1],[2]]\n[\n  1,\n  2\n]\n', fast), [
        '1: Not a JSON object: 3 array elements are plain values, not records',
        '2: Not a JSON object: 2 array elements are plain values, not records',
        '5: Not a JSON object: 1 array element is a plain value, not a record',
        '6: Not a JSON object: 2 array elements are plain values, not records',
        '7: Not a JSON object: 2 array elements are plain values, not records',
      ]);
    });
  }
});

describe('notTextReason', () => {
  const bytes = (...b: number[]) => new Uint8Array(b);
  it('passes UTF-8 text, with or without a byte order mark, and an empty head', () => {
    assert.equal(notTextReason(enc('{"model":"gpt-4o","user":"Zoë 🚀"}\n')), undefined);
    assert.equal(notTextReason(bytes(0xef, 0xbb, 0xbf, ...enc('{"a":1}\n'))), undefined);
    assert.equal(notTextReason(bytes()), undefined);
  });

  it('tells binary data by a NUL byte in the head, with its offset', () => {
    assert.equal(notTextReason(bytes(0x7b, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 10)), 'Not a text file (binary data — a NUL byte at offset 7); not read');
    const late = new Uint8Array(TEXT_SNIFF_BYTES + 10).fill(0x20);
    late[TEXT_SNIFF_BYTES - 1] = 0;
    assert.match(notTextReason(late)!, new RegExp(`offset ${TEXT_SNIFF_BYTES - 1}\\)`));
    late[TEXT_SNIFF_BYTES - 1] = 0x20;
    late[TEXT_SNIFF_BYTES] = 0;
    assert.equal(notTextReason(late), undefined, 'only the head is looked at');
  });

  it('tells compressed files by their magic bytes', () => {
    assert.equal(notTextReason(bytes(0x1f, 0x8b, 8, 0, 0, 0)), 'Not a text file: looks compressed (gzip, magic bytes 1F 8B); decompress it first; not read');
    assert.match(notTextReason(bytes(0x50, 0x4b, 3, 4, 20, 0))!, /\(zip, magic bytes 50 4B 03 04\)/);
    assert.match(notTextReason(bytes(0x28, 0xb5, 0x2f, 0xfd, 4))!, /zstd/);
    assert.match(notTextReason(bytes(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0))!, /xz/);
    assert.match(notTextReason(bytes(...enc('BZh9'), 0x31, 0x41, 0x59, 0x26, 0x53, 0x59, 1))!, /bzip2/);
    assert.equal(notTextReason(enc('BZh9 is not json\n')), undefined);
  });

  it('tells common binary formats by their magic bytes, NUL or no NUL in their first line', () => {
    const png = bytes(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52);
    assert.equal(notTextReason(png), 'Not a text file: looks like a PNG image (magic bytes 89 50 4E 47 0D 0A 1A 0A); not read');
    assert.match(notTextReason(bytes(0xff, 0xd8, 0xff, 0xe0, 0x10, 0x4a))!, /a JPEG image/);
    assert.match(notTextReason(enc('%PDF-1.7\n%\u00e2\u00e3\n1 0 obj\n'))!, /a PDF document \(magic bytes 25 50 44 46 2D\)/);
    assert.match(notTextReason(bytes(0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0))!, /an ELF executable/);
    assert.match(notTextReason(enc('PAR1\u0015\u0004'))!, /a Parquet file/);
    assert.match(notTextReason(bytes(0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c, 0, 4))!, /looks compressed \(7z/);
    // JSON never starts so: text that only contains the letters further on is text.
    assert.equal(notTextReason(enc('{"note":"%PDF-1.7 MZ PAR1 GIF89a"}\n')), undefined);
  });

  it('tells UTF-16 and UTF-32 text by its byte order mark, and UTF-16 without one by the NUL beside each character', () => {
    const u16le = (s: string) => [...s].flatMap((c) => [c.charCodeAt(0), 0]);
    assert.equal(notTextReason(bytes(0xff, 0xfe, ...u16le('{"a":1}\n'))), 'UTF-16 text (byte order mark FF FE): save it as UTF-8; not read');
    assert.equal(notTextReason(bytes(0xfe, 0xff, ...u16le('{"a":1}').map((_, i, a) => a[i ^ 1]))), 'UTF-16 text (byte order mark FE FF): save it as UTF-8; not read');
    assert.match(notTextReason(bytes(0xff, 0xfe, 0, 0, 0x7b, 0, 0, 0))!, /^UTF-32 text/);
    assert.match(notTextReason(bytes(...u16le('{"model":"x"}\n')))!, /^UTF-16 text \(little-endian, no byte order mark\)/);
    assert.match(notTextReason(bytes(...u16le('{"model":"x"}\n').map((_, i, a) => a[i ^ 1])))!, /^UTF-16 text \(big-endian, no byte order mark\)/);
  });
});
