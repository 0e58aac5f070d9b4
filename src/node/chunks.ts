import { readSync } from 'node:fs';

/**
 * Bytes read at a time, into one buffer reused from chunk to chunk: small enough to stay in the CPU's cache between
 * the read and the scan. (On the 1M-call bench as fast as fresh 16 MB buffers, with less memory taken while parsing.)
 */
export const CHUNK = 2 * 1024 * 1024;

/**
 * Reads bytes [start, end) of an open file in chunks, into one buffer reused from chunk to chunk. Each chunk goes to
 * `take` with the unfinished tail of the previous one in front of it; `take` returns how many bytes it consumed (the
 * rest is carried), or -1 to stop. `take` must not keep the bytes it is given: the next chunk is read over them. A tail
 * that leaves less than half a chunk of room doubles the buffer (a very long line). Returns the offset read up to.
 */
export function readChunks(fd: number, start: number, end: number, take: (bytes: Buffer, readAt: number, last: boolean) => number, chunk = CHUNK): number {
  let buf = Buffer.allocUnsafe(Math.max(1, Math.min(chunk, end - start)));
  let keep = 0;
  let readAt = start;
  while (readAt < end) {
    if (buf.length - keep < Math.min(Math.max(1, chunk >> 1), end - readAt)) {
      const bigger = Buffer.allocUnsafe(Math.max(buf.length * 2, keep + Math.min(chunk, end - readAt)));
      buf.copy(bigger, 0, 0, keep);
      buf = bigger;
    }
    const got = readSync(fd, buf, keep, Math.min(buf.length - keep, end - readAt), readAt);
    if (got <= 0) break;
    readAt += got;
    const bytes = buf.subarray(0, keep + got);
    const consumed = take(bytes, readAt, readAt >= end);
    if (consumed < 0) break;
    keep = bytes.length - consumed;
    if (keep > 0 && consumed > 0) buf.copyWithin(0, consumed, bytes.length);
  }
  return readAt;
}
