// Private folders through which a parse process hands columns over (see src/services/loadWorker.ts), and the removal
// of those that a stopped or crashed window left behind.
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** A memory file system for handing columns over (Linux: /dev/shm). */
export const MEMORY_FS = '/dev/shm';

/** The prefix of hand-over folders in MEMORY_FS. */
export const MEMORY_PREFIX = 'llm-cost-lens-parse-';

/** Private folders of parse processes that a stopped window left, older than this, are removed. */
const STALE_HANDOVER_MS = 10 * 60_000;

/** Removes the folders named `prefix`* in `dir` older than STALE_HANDOVER_MS (left by a window that was stopped). */
export function removeStale(dir: string, prefix: string): void {
  for (const name of readdirSync(dir)) {
    if (!name.startsWith(prefix)) continue;
    try {
      const p = join(dir, name);
      if (Date.now() - statSync(p).mtimeMs > STALE_HANDOVER_MS) rmSync(p, { recursive: true, force: true });
    } catch {
      // gone meanwhile, or another user's
    }
  }
}

/**
 * Columns in memory that a crashed window left (a tmpfs holds them in RAM): removed at every load, not only at the
 * next hand-over, which a cached file may not need for a long time.
 */
export function removeStaleInMemory(): void {
  if (process.platform !== 'linux' || !existsSync(MEMORY_FS)) return;
  try {
    removeStale(MEMORY_FS, MEMORY_PREFIX);
  } catch {
    // not listable
  }
}
