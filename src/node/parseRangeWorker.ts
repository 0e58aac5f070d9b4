// Worker-thread entry (out/src/node/parseRangeWorker.js; bundled as dist/parseRangeWorker.js): reads one byte range of a
// trace file with the fast scanner and sends back its columns. Messages: in RangeRequest; out RangeResponse.
import { closeSync, openSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { CallTable, StringPool, withHeadroom } from '../core/callTable';
import { fastScanBytes } from '../core/fastScan';
import { hashJoined } from '../core/stringMerge';
import { newContext } from '../core/normalize';
import { PriceBook } from '../core/pricing';
import { keepProblems } from '../core/traceFile';
import type { Problem } from '../core/types';
import { readChunks } from './chunks';
import type { RangeRequest, RangeResponse } from './parallelLoad';
import { applyScannerEnv } from './scannerEnv';

applyScannerEnv();

function parseRange(req: RangeRequest): { res: Extract<RangeResponse, { type: 'done' }>; transfer: ArrayBuffer[] } {
  const pool = new StringPool();
  const table = new CallTable(req.file, pool);
  const ctx = newContext(req.file);
  const prices = new PriceBook(new Map(req.overrides));
  const kept = { problems: [] as Problem[], droppedProblems: 0, droppedWarnings: 0 };
  let stateful = false;
  let multiline = false;
  let fastLines = 0;
  let slowLines = 0;
  let wasmLines = 0;
  let position = { offset: req.start, line: 1 };
  let first = true;
  const fd = openSync(req.path, 'r');
  try {
    readChunks(fd, req.start, req.end, (bytes, readAt, last) => {
      const r = fastScanBytes(table, ctx, bytes, position, { file: req.file, final: last ? req.final : false, prices });
      r.problems.sort((a, b) => a.line - b.line);
      keepProblems(kept, r.problems);
      fastLines += r.fastLines;
      slowLines += r.slowLines;
      wasmLines += r.wasmLines;
      stateful ||= r.stateful;
      multiline ||= r.multiline;
      const consumed = r.next.offset - position.offset;
      position = r.next;
      // After the first chunk, room for the whole range (or up to reserveUntil) at the rows-per-byte seen so far (+3%):
      // the columns are not copied again and again as they double.
      if (first && !last && position.offset > req.start) {
        const until = Math.max(req.end, req.reserveUntil ?? 0);
        const rows = Math.ceil(((table.length * (until - req.start)) / (position.offset - req.start)) * 1.03);
        table.reserve(req.reserveUntil !== undefined ? withHeadroom(rows) : rows);
      }
      first = false;
      if (stateful || multiline) return -1; // the file needs the single reader: stop early
      parentPort?.postMessage({ type: 'progress', read: readAt - req.start } satisfies RangeResponse);
      return consumed;
    });
  } finally {
    closeSync(fd);
  }
  // The table's own columns (shared memory: the loader reads them without a copy) and its strings as one string.
  const columns = table.handOver();
  const { text: joined, lengths: lens } = columns.joinedStrings!;
  const hashes = hashJoined(columns.joinedStrings!);
  const buffers = new Set<ArrayBuffer>([lens.buffer as ArrayBuffer, hashes.buffer as ArrayBuffer]);
  for (const a of [...Object.values(columns.numeric), ...Object.values(columns.ids), columns.traces.bytes, columns.traces.ends]) if (a.buffer instanceof ArrayBuffer) buffers.add(a.buffer);
  const transfer = [...buffers];
  return {
    res: {
      type: 'done',
      columns: { length: columns.length, numeric: columns.numeric, ids: columns.ids, traces: columns.traces, strings: [] },
      joined,
      lens,
      hashes,
      problems: kept.problems,
      droppedProblems: kept.droppedProblems,
      droppedWarnings: kept.droppedWarnings,
      ignored: ctx.ignored,
      lines: position.line - 1,
      endOffset: position.offset,
      stateful,
      multiline,
      fastLines,
      slowLines,
      wasmLines,
    },
    transfer,
  };
}

parentPort?.on('message', (req: RangeRequest) => {
  try {
    const { res, transfer } = parseRange(req);
    parentPort!.postMessage(res, transfer);
  } catch (e) {
    const m: RangeResponse = { type: 'error', message: (e as NodeJS.ErrnoException).code ?? (e as Error).message };
    parentPort!.postMessage(m);
  }
});
