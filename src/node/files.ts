import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { globToRegExp, isGlob } from '../core/glob';

const SKIP_DIRS = new Set(['node_modules', '.git', '.vscode-ci', '.vscode-test']);
const TRACE_EXT = /\.(jsonl|ndjson|json)$/i;

function walk(dir: string, visit: (path: string) => void) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (!SKIP_DIRS.has(e.name)) walk(p, visit);
    } else if (e.isFile()) visit(p);
  }
}

/**
 * Expands CLI arguments to trace files: a file as is, a folder to the `.jsonl`/`.ndjson`/`.json` files under it, a
 * glob relative to `cwd`. Returns the files (sorted, without duplicates) and one message per argument that found none.
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
    // Walk from the longest folder prefix without glob syntax.
    const parts = arg.split(/[\\/]/);
    const baseParts: string[] = [];
    while (parts.length && !isGlob(parts[0])) baseParts.push(parts.shift()!);
    const base = resolve(cwd, baseParts.join('/') || '.');
    const re = globToRegExp(parts.join('/'));
    const before = files.size;
    walk(base, (p) => {
      if (re.test(relative(base, p).split(sep).join('/'))) files.add(p);
    });
    if (files.size === before) errors.push(`no files match ${arg}`);
  }
  return { files: [...files].sort(), errors };
}
