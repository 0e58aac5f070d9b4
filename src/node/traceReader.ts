import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { StringPool } from '../core/callTable';
import { readChunks } from './chunks';
import { holdFastScanInput } from '../core/fastScan';
import type { FieldMapping } from '../core/normalize';
import type { PriceBook } from '../core/pricing';
import { TEXT_SNIFF_BYTES, notTextReason } from '../core/jsonl';
import { checkTextHead, FINGERPRINT_SAMPLE_BYTES, type FileFingerprint, ingestBytes, mustReload, newTraceFileState, type TraceFileState } from '../core/traceFile';

const SAMPLE = FINGERPRINT_SAMPLE_BYTES;

/** Up to 64 bytes of the file ending at `end` (clamped to the file's size), as hex. */
function sampleBefore(fd: number, end: number, size: number): { tail: string; tailEnd: number } {
  const tailEnd = Math.min(end, size);
  const buf = Buffer.alloc(Math.min(SAMPLE, tailEnd));
  if (buf.length) readSync(fd, buf, 0, buf.length, tailEnd - buf.length);
  return { tail: buf.toString('hex'), tailEnd };
}

/**
 * The fingerprint of an open file: size, inode, first bytes, and the bytes just before `readOffset` (the offset of the
 * state it is checked against; 0 for none). Two small reads.
 */
export function takeFingerprint(fd: number, readOffset = 0): FileFingerprint {
  const st = fstatSync(fd);
  const head = Buffer.alloc(Math.min(SAMPLE, st.size));
  if (head.length) readSync(fd, head, 0, head.length, 0);
  return { size: st.size, ino: st.ino, head: head.toString('hex'), ...sampleBefore(fd, readOffset, st.size) };
}

/** The first bytes of an open file (up to TEXT_SNIFF_BYTES), to tell whether it is text. */
function readHead(fd: number, size: number): Buffer {
  const head = Buffer.alloc(Math.min(TEXT_SNIFF_BYTES, size));
  const got = head.length ? readSync(fd, head, 0, head.length, 0) : 0;
  return head.subarray(0, got);
}

/**
 * Why an open file is not a text file to read (binary, compressed, UTF-16: see notTextReason), from its first bytes;
 * undefined when it may be one. The parallel loader asks this before splitting a file among workers.
 */
export function fileNotText(fd: number, size = fstatSync(fd).size): string | undefined {
  return notTextReason(readHead(fd, size));
}

/** `takeFingerprint` of a file by path (opened read-only). */
export function fileFingerprint(path: string, readOffset = 0): FileFingerprint {
  const fd = openSync(path, 'r');
  try {
    return takeFingerprint(fd, readOffset);
  } finally {
    closeSync(fd);
  }
}

export interface ReadOutcome {
  state: TraceFileState;
  /** True when the file was read again from the start (first read, truncation or replacement). */
  reloaded: boolean;
  added: number;
}

/**
 * Reads a trace file into `state` (a new state when none is given, or when the file shrank or was replaced), reading
 * only the bytes after what was read before, in chunks. Opens the file read-only; never writes to it.
 * `final`: the file is complete (CLI); otherwise an unfinished last line waits for its newline.
 */
export function readTraceFile(
  path: string,
  opts: {
    pool: StringPool;
    prices: PriceBook;
    final: boolean;
    state?: TraceFileState;
    mapping?: FieldMapping;
    displayName?: string;
    /** Use the byte scanner for flat records (default true; the results are the same, only slower without it). */
    fast?: boolean;
    /** With `fast: false`: pass over the lines the normalizer would only ignore (default true; the bench's reference turns it off). */
    skipIgnorable?: boolean;
    /** Called after each chunk with the bytes read so far and the file size. */
    onProgress?: (readBytes: number, totalBytes: number) => void;
  },
): ReadOutcome {
  const fd = openSync(path, 'r');
  try {
    const fp = takeFingerprint(fd, opts.state?.position.offset ?? 0);
    let state = opts.state;
    let reloaded = false;
    if (!state || mustReload(state, fp)) {
      state = newTraceFileState(opts.displayName ?? path, opts.pool, opts.mapping);
      reloaded = true;
    }
    // A file that is not text gets one problem when first read; its bytes (appended ones too) are then skipped.
    if (state.position.offset === 0 && fp.size > 0) {
      const p = checkTextHead(state, readHead(fd, fp.size));
      if (p) state.problems.push(p);
    }
    if (state.notText !== undefined) {
      state.position = { offset: fp.size, line: state.position.line };
      state.fingerprint = { ...fp, ...sampleBefore(fd, fp.size, fp.size) };
      opts.onProgress?.(fp.size, fp.size);
      return { state, reloaded, added: 0 };
    }
    let added = 0;
    const fast = opts.fast !== false && !opts.mapping;
    const from = state.position.offset;
    const rowsBefore = state.table.length;
    let consumed = 0;
    let reserved = fp.size - from < RESERVE_FROM_BYTES;
    // The fast scanner reads the chunks in its input window, without a copy.
    const into = fast ? holdFastScanInput() : undefined;
    let readAt: number;
    try {
      readAt = readChunks(fd, from, fp.size, (bytes, at, last) => {
        const r = ingestBytes(state, bytes, opts.final && last, opts.prices, { fast, skipIgnorable: opts.skipIgnorable });
        added += r.added;
        consumed += r.consumed;
        // Once a tenth of a long read is in, room for the rest at the rows per byte seen so far (+3%): the columns are
        // not copied again and again as they double (~5% of reading a million calls). A tenth, not the first chunk: a
        // file whose first lines are denser in calls than the rest (a transcript) would have far too much reserved.
        if (!reserved && !last && consumed * 10 >= fp.size - from) {
          reserved = true;
          const perByte = (state.table.length - rowsBefore) / consumed;
          state.table.reserve(state.table.length + Math.ceil(perByte * (fp.size - from - consumed) * 1.03));
          state.table.traces.reserveForRows(state.table.capacity - state.table.length);
        }
        opts.onProgress?.(at, fp.size);
        return r.consumed;
      }, undefined, into);
    } finally {
      into?.release();
    }
    // The bytes just before the new read offset: the next read checks that they are still there.
    state.fingerprint = { ...fp, size: state.position.offset, ...sampleBefore(fd, state.position.offset, readAt) };
    return { state, reloaded, added };
  } finally {
    closeSync(fd);
  }
}

/** Reads of at least this many bytes reserve the rest of their rows once a tenth is in (`readTraceFile`). */
const RESERVE_FROM_BYTES = 8 * 1024 * 1024;

/**
 * Runs the reader once over the last lines of a file into a throwaway table (its own string pool), so that a thread
 * whose big files were parsed by workers has the scanner's code compiled before the first append arrives: the first
 * append then costs what the next ones do. Reads at most `bytes` bytes; returns the milliseconds it took.
 */
export function warmUpReader(path: string, prices: PriceBook, bytes = 256 * 1024): number {
  const t0 = performance.now();
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const start = Math.max(0, size - bytes);
    const buf = Buffer.allocUnsafe(size - start);
    const got = readSync(fd, buf, 0, buf.length, start);
    const text = buf.subarray(0, got);
    const from = start === 0 ? 0 : text.indexOf(10) + 1;
    if (from <= 0 && start > 0) return performance.now() - t0;
    const state = newTraceFileState(path, new StringPool());
    ingestBytes(state, text.subarray(from), false, prices, { fast: true });
  } finally {
    closeSync(fd);
  }
  return performance.now() - t0;
}

/** The bytes of the file's end each warm-up run reads (the last size for the runs after). */
const WARM_UP_BYTES = [1024, 16 * 1024, 64 * 1024, 256 * 1024];

/**
 * `warmUpReader` over 1 KB, 16 KB, 64 KB, then 256 KB, `times` + 1 runs, one per event-loop turn (`turn` waits for the
 * next): as much compiling as one long run, without holding the thread for it (the first, coldest run reads a couple of
 * lines only). Returns the total and the longest run, in ms.
 */
export async function warmUpReaderInTurns(path: string, prices: PriceBook, turn: () => Promise<void>, times = 4): Promise<{ totalMs: number; longestMs: number }> {
  let totalMs = 0;
  let longestMs = 0;
  for (let k = 0; k <= times; k++) {
    if (k > 0) await turn();
    // The first run pays the code's cold start (~25 ms however few the lines): a couple of lines only; then more.
    const ms = warmUpReader(path, prices, WARM_UP_BYTES[Math.min(k, WARM_UP_BYTES.length - 1)]);
    totalMs += ms;
    longestMs = Math.max(longestMs, ms);
  }
  return { totalMs, longestMs };
}
