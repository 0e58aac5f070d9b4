// One byte range of a trace file read with the fast scanner into columns of its own: what a range worker does, and
// the calling thread of loadParallel when it reads too (readRanges).
import { closeSync, openSync } from 'node:fs';
import { CallTable, StringPool, withHeadroom } from '../core/callTable';
import { fastScanBytes, holdFastScanInput } from '../core/fastScan';
import { hashJoined } from '../core/stringMerge';
import { LevelSums, tablePart } from '../core/levelPreview';
import { newContext } from '../core/normalize';
import type { PriceBook } from '../core/pricing';
import { keepProblems } from '../core/traceFile';
import type { Problem } from '../core/types';
import { readChunks } from './chunks';
import type { RangeDone, RangeRequest } from './parallelLoad';
import { RangeClaims } from './rangeClaims';

/**
 * Reads party `req.party`'s range of `req.claims` (then, as long as others have enough left, the halves it takes from
 * them: `steal`), each range into a part of its own, handed to `done` as it is finished, in shared memory and
 * transferable buffers. Stops early (the part then marked) when a line needs state shared across lines or a multi-line
 * document starts: the file then needs one reader.
 */
export function scanRanges(req: RangeRequest, prices: PriceBook, done: (part: RangeDone, transfer: ArrayBuffer[]) => void, onChunk?: () => void): void {
  const claims = new RangeClaims(req.claims);
  const fd = openSync(req.path, 'r');
  try {
    let range: { start: number } | undefined = { start: req.start };
    let first = true;
    while (range) {
      const { part, transfer } = scanRange(req, fd, claims, range.start, first ? req.reserveUntil : undefined, prices, onChunk);
      // The file needs the single reader: the other readers stop where they are (what they read is not used).
      if (part.stateful || part.multiline) claims.stopAll();
      done(part, transfer);
      if (part.stateful || part.multiline) return;
      first = false;
      range = claims.steal(req.party, fd, req.minStealBytes);
    }
  } finally {
    closeSync(fd);
  }
}

function scanRange(req: RangeRequest, fd: number, claims: RangeClaims, start: number, reserveUntil: number | undefined, prices: PriceBook, onChunk?: () => void): { part: RangeDone; transfer: ArrayBuffer[] } {
  const pool = new StringPool();
  const table = new CallTable(req.file, pool);
  // Room for a first chunk's trace ids (a 1 MB chunk of the common shape holds ~1,500; the rest is reserved after it):
  // the buffers do not grow while the code that adds them is first optimized (see TraceIds.reserveForRows).
  table.traces.reserve(4096, 64 * 1024);
  const ctx = newContext(req.file);
  const kept = { problems: [] as Problem[], droppedProblems: 0, droppedWarnings: 0 };
  let stateful = false;
  let multiline = false;
  let fastLines = 0;
  let slowLines = 0;
  let wasmLines = 0;
  let position = { offset: start, line: 1 };
  let first = true;
  const sums = req.level && new LevelSums(req.level);
  let readUpTo = start;
  // Read into the WebAssembly loop's input window (scanned there, without a copy).
  const into = holdFastScanInput();
  try {
    readChunks(
      fd,
      start,
      (from, want) => claims.claim(req.party, from, want),
      (bytes, readAt, last) => {
        claims.addRead(req.party, readAt - readUpTo);
        readUpTo = readAt;
        const before = table.length;
        const r = fastScanBytes(table, ctx, bytes, position, { file: req.file, final: last ? req.final : false, prices });
        // The chunk's rows are final (a line that would change an earlier row makes the file one reader's).
        if (sums) sums.add(tablePart(table), before, table.length);
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
        if (first && !last && position.offset > start) {
          const until = Math.max(claims.endOf(req.party), reserveUntil ?? 0);
          const rows = Math.ceil(((table.length * (until - start)) / (position.offset - start)) * 1.03);
          table.reserve(reserveUntil !== undefined ? withHeadroom(rows) : rows);
          table.traces.reserveForRows(table.capacity - table.length);
        }
        first = false;
        if (stateful || multiline) return -1; // the file needs the single reader: stop early
        onChunk?.();
        return consumed;
      },
      req.chunkBytes,
      into,
    );
  } finally {
    into?.release();
  }
  // The table's own columns (shared memory: the loader reads them without a copy) and its strings as one string.
  const columns = table.handOver();
  const { text: joined, lengths: lens } = columns.joinedStrings!;
  const hashes = hashJoined(columns.joinedStrings!);
  const buffers = new Set<ArrayBuffer>([lens.buffer as ArrayBuffer, hashes.buffer as ArrayBuffer]);
  for (const a of [...Object.values(columns.numeric), ...Object.values(columns.ids), columns.traces.bytes, columns.traces.ends]) if (a.buffer instanceof ArrayBuffer) buffers.add(a.buffer);
  return {
    part: {
      type: 'done',
      start,
      columns: { length: columns.length, numeric: columns.numeric, ids: columns.ids, traces: columns.traces, strings: [] },
      joined,
      lens,
      hashes,
      problems: kept.problems,
      droppedProblems: kept.droppedProblems,
      droppedWarnings: kept.droppedWarnings,
      ignored: ctx.ignored,
      lines: position.line - 1,
      ...(sums ? { level: sums.groups((id) => pool.get(id)) ?? null } : {}),
      endOffset: position.offset,
      stateful,
      multiline,
      fastLines,
      slowLines,
      wasmLines,
    },
    transfer: [...buffers],
  };
}
