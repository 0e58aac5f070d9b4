import { readSync } from 'node:fs';

const CHUNK = 16 * 1024 * 1024;

/**
 * Reads bytes [start, end) of an open file in chunks. Each chunk goes to `take` with the unfinished tail of the
 * previous one in front of it (read right after it: no concatenation); `take` returns how many bytes it consumed, the
 * rest being carried, or -1 to stop. A tail as long as a chunk doubles the chunk (a very long line). Returns the
 * offset read up to.
 */
export function readChunks(fd: number, start: number, end: number, take: (bytes: Buffer, readAt: number, last: boolean) => number): number {
  let carry: Buffer | undefined;
  let readAt = start;
  let chunk = CHUNK;
  while (readAt < end) {
    const n = Math.min(chunk, end - readAt);
    const keep = carry ? carry.length : 0;
    const buf = Buffer.allocUnsafe(keep + n);
    if (carry) carry.copy(buf, 0);
    const got = readSync(fd, buf, keep, n, readAt);
    if (got <= 0) break;
    readAt += got;
    const bytes = buf.subarray(0, keep + got);
    const consumed = take(bytes, readAt, readAt >= end);
    if (consumed < 0) break;
    carry = consumed < bytes.length ? bytes.subarray(consumed) : undefined;
    if (carry && carry.length >= chunk) chunk *= 2;
  }
  return readAt;
}
