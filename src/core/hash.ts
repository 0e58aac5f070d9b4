/** FNV-1a hashing shared by the typed-array indexes of the core. Pure: no fs, no vscode. */

/**
 * Longest probe run the typed-array indexes accept (the string pool, StringMerger, the fast scanner's byte caches,
 * TraceKeys). Trace text is untrusted and FNV is not a keyed hash: strings crafted to collide would make every lookup
 * walk a long run, so past this the index gives up (the pool switches to a Map, the caches stop caching, the merge
 * falls back to interning, TraceKeys looks ids up by their bytes in a Map).
 */
export const MAX_PROBE = 64;

/** FNV-1a of bytes [s, e) of `b`. */
export function hashBytes(b: Uint8Array, s: number, e: number): number {
  let h = 0x811c9dc5 | 0;
  for (let i = s; i < e; i++) h = Math.imul(h ^ b[i], 0x01000193);
  return h;
}
