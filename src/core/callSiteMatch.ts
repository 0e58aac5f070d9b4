/**
 * Maps a call-site path recorded elsewhere (another machine, a container: `/srv/app/src/app.py`,
 * `C:\build\src\app.py`) to a workspace file, by the longest common suffix of whole path segments.
 */

interface Entry {
  file: string;
  /** Normalised segments, as written and lower-cased. */
  segs: string[];
  lower: string[];
  /** Normalised full path, for an exact match. */
  joined: string;
}

/** Splits a path into segments: `\` and `/` separate, `.` and empty segments are dropped, `file://` is removed. */
function segments(path: string): string[] {
  let p = path.trim();
  if (/^file:\/\//i.test(p)) {
    p = p.slice(7);
    try {
      p = decodeURIComponent(p);
    } catch {
      // keep the undecoded path
    }
  }
  const out: string[] = [];
  for (const s of p.split(/[\\/]+/)) if (s !== '' && s !== '.') out.push(s);
  return out;
}

/** Number of equal trailing segments of two lists. */
function commonSuffix(a: readonly string[], b: readonly string[]): number {
  let n = 0;
  for (let i = a.length - 1, j = b.length - 1; i >= 0 && j >= 0 && a[i] === b[j]; i--, j--) n++;
  return n;
}

/**
 * A reusable index over workspace files for many recorded-path lookups: candidates are found by file name
 * (case-insensitively), then ranked by common suffix length with exact case, then by the length ignoring case.
 */
export class PathSuffixIndex {
  private readonly byName = new Map<string, Entry[]>();

  /** @param files workspace file paths (absolute or relative, `/` or `\`); returned as given. */
  constructor(files: readonly string[]) {
    if (!Array.isArray(files)) return;
    const seen = new Set<string>();
    for (const file of files) {
      if (typeof file !== 'string' || seen.has(file)) continue;
      seen.add(file);
      const segs = segments(file);
      if (segs.length === 0) continue;
      const lower = segs.map((s) => s.toLowerCase());
      const key = lower[lower.length - 1];
      const list = this.byName.get(key) ?? [];
      list.push({ file, segs, lower, joined: segs.join('/') });
      this.byName.set(key, list);
    }
  }

  /**
   * The workspace file whose path shares the longest suffix of whole segments with `recorded` (at least the file
   * name). Segments are compared with exact case first; the suffix ignoring case breaks ties, and a file name that
   * differs only in case still matches. An identical normalised path wins outright.
   * @returns the file as given to the constructor, or undefined when nothing matches or the best match is ambiguous
   */
  match(recorded: string): string | undefined {
    if (typeof recorded !== 'string') return undefined;
    const segs = segments(recorded);
    if (segs.length === 0) return undefined;
    const lower = segs.map((s) => s.toLowerCase());
    const candidates = this.byName.get(lower[lower.length - 1]);
    if (!candidates) return undefined;
    const joined = segs.join('/');
    let best: Entry | undefined;
    let bestExact = -1;
    let bestLoose = -1;
    let tie = false;
    for (const c of candidates) {
      if (c.joined === joined) return c.file;
      const exact = commonSuffix(segs, c.segs);
      const loose = commonSuffix(lower, c.lower);
      if (exact > bestExact || (exact === bestExact && loose > bestLoose)) {
        best = c;
        bestExact = exact;
        bestLoose = loose;
        tie = false;
      } else if (exact === bestExact && loose === bestLoose) tie = true;
    }
    return tie ? undefined : best?.file;
  }
}

/**
 * Matches a recorded call-site path (from another machine or a container, e.g. /srv/app/src/app.py) to workspace
 * files by longest common path suffix (whole segments). Returns the workspace file with the longest suffix match of
 * at least 1 segment (the file name), or undefined; ties → undefined (ambiguous). For many lookups build a
 * {@link PathSuffixIndex} once.
 */
export function matchRecordedPath(recorded: string, workspaceFiles: readonly string[]): string | undefined {
  return new PathSuffixIndex(workspaceFiles).match(recorded);
}
