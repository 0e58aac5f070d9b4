import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { globToRegExp, isGlob } from '../core/glob';

const SKIP_DIRS = new Set(['node_modules', '.git', '.vscode-ci', '.vscode-test']);
const TRACE_EXT = /\.(jsonl|ndjson|json)$/i;

/**
 * The files under `dir` (`file` true) and the folders entered (`file` false: a caller that pauses between entries
 * gets them too), following symbolic links to files and folders. `above` holds the real paths of the folders being
 * walked, so a link to one of them (a loop) is not entered. Dangling links and unreadable folders are skipped.
 */
function* walkEntries(dir: string, above = new Set<string>()): Generator<{ path: string; file: boolean }> {
  let entries;
  let real: string;
  try {
    real = realpathSync(dir);
    if (above.has(real)) return;
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  above.add(real);
  yield { path: dir, file: false };
  try {
    for (const e of entries) {
      const p = join(dir, e.name);
      let isDir = e.isDirectory();
      let isFile = e.isFile();
      if (e.isSymbolicLink()) {
        try {
          const st = statSync(p);
          isDir = st.isDirectory();
          isFile = st.isFile();
        } catch {
          continue;
        }
      }
      if (isDir) {
        if (!SKIP_DIRS.has(e.name)) yield* walkEntries(p, above);
      } else if (isFile) yield { path: p, file: true };
    }
  } finally {
    above.delete(real);
  }
}

/** Visits the files under `dir` (walkEntries). */
function walk(dir: string, visit: (path: string) => void) {
  for (const e of walkEntries(dir)) if (e.file) visit(e.path);
}

/** One path per real file: the real path itself when it was found, else the shortest (then the first in order). */
function onePathPerFile(paths: Iterable<string>): string[] {
  const byReal = new Map<string, string[]>();
  for (const p of paths) {
    let real = p;
    try {
      real = realpathSync(p);
    } catch {
      // Keep it under its own name; reading it reports the problem.
    }
    const list = byReal.get(real);
    if (list) list.push(p);
    else byReal.set(real, [p]);
  }
  const out: string[] = [];
  for (const [real, list] of byReal) out.push(list.includes(real) ? real : list.sort((a, b) => a.length - b.length || (a < b ? -1 : 1))[0]);
  return out.sort();
}

/**
 * Expands CLI arguments to trace files: a file as is, a folder to the `.jsonl`/`.ndjson`/`.json` files under it, a
 * glob relative to `cwd`. Symbolic links to files and folders are followed. Returns the files (sorted, each real file
 * once however many links lead to it) and one message per argument that found none.
 */
export function expandInputs(args: string[], cwd: string): { files: string[]; errors: string[] } {
  const files = new Set<string>();
  const errors: string[] = [];
  for (const arg of args) {
    const abs = resolve(cwd, arg);
    if (!isGlob(arg)) {
      if (!existsSync(abs)) {
        errors.push(`no such file or folder: ${arg}`);
        continue;
      }
      if (statSync(abs).isDirectory()) {
        const before = files.size;
        walk(abs, (p) => TRACE_EXT.test(p) && files.add(p));
        if (files.size === before) errors.push(`no .jsonl, .ndjson or .json files in ${arg}`);
      } else files.add(abs);
      continue;
    }
    const before = files.size;
    for (const p of globFiles(arg, cwd)) files.add(p);
    if (files.size === before) errors.push(`no files match ${arg}`);
  }
  return { files: onePathPerFile(files), errors };
}

/**
 * A glob split where its glob syntax starts: the folder before it (absolute, against `cwd`) and the rest, relative to
 * that folder (`~/.claude/projects/*\/*.jsonl` -> the projects folder and `*\/*.jsonl`).
 */
export function globBase(glob: string, cwd: string): { base: string; rest: string } {
  const parts = glob.split(/[\\/]/);
  const baseParts: string[] = [];
  while (parts.length && !isGlob(parts[0])) baseParts.push(parts.shift()!);
  const joined = baseParts.join('/');
  return { base: resolve(cwd, joined || (glob.startsWith('/') ? '/' : '.')), rest: parts.join('/') };
}

/** The folder a glob's walk starts from, and whether a file found under it matches the glob. */
function globWalk(glob: string, cwd: string): { base: string; matches: (path: string) => boolean } {
  const { base, rest } = globBase(glob, cwd);
  const re = globToRegExp(rest);
  return { base, matches: (p) => re.test(relative(base, p).split(sep).join('/')) };
}

/** The files a glob matches (relative to `cwd` unless absolute), walking from the folder before its glob syntax. */
export function globFiles(glob: string, cwd: string): string[] {
  const { base, matches } = globWalk(glob, cwd);
  const out: string[] = [];
  walk(base, (p) => {
    if (matches(p)) out.push(p);
  });
  return out;
}

/**
 * globFiles for an event loop that must stay free (the extension host: `~/.claude/projects/**\/*.jsonl` may walk
 * thousands of folders): the walk pauses for a turn whenever it ran `sliceMs`. `excluded` leaves files out (the exclude
 * setting); each real file is listed once, however many links lead to it (onePathPerFile).
 */
export async function globFilesAsync(glob: string, cwd: string, excluded?: (path: string) => boolean, sliceMs = 8): Promise<string[]> {
  const { base, matches } = globWalk(glob, cwd);
  const out: string[] = [];
  let since = Date.now();
  for (const e of walkEntries(base)) {
    if (e.file && matches(e.path) && !excluded?.(e.path)) out.push(e.path);
    if (Date.now() - since >= sliceMs) {
      await new Promise<void>((r) => setImmediate(r));
      since = Date.now();
    }
  }
  return onePathPerFile(out);
}

/**
 * True when `path` lies inside `folder` and its folder-relative path (with `/`) matches one of the exclude globs, as
 * the workspace search (`findFiles` with the `llmCostLens.exclude` globs) leaves it out.
 */
export function isExcluded(path: string, folder: string, globs: readonly string[]): boolean {
  const rel = relative(folder, path);
  if (!rel || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return false;
  const p = rel.split(sep).join('/');
  return globs.some((g) => globToRegExp(g.trim()).test(p));
}
