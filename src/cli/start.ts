// The command line's first module (main.ts imports it before anything else, so this runs before its other modules do;
// the bundle is compiled as a whole first): when a trace file named on the command line is big enough to be read by several threads, their range
// workers start now, while the rest runs (see node/rangeWorkers.ts); loadParallel takes them.
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadPriceCatalogue } from '../core/pricing';
import { defaultParallelBytes, defaultRanges, prestartRangeWorkers } from '../node/rangeWorkers';

/** Whether `argv` (the arguments after the program) names a file read in byte ranges (a mapping means one reader). */
export function wantsRangeWorkers(argv: string[], cwd = process.cwd()): boolean {
  if (argv.includes('--mapping')) return false;
  return argv.some((a) => {
    if (a.startsWith('-')) return false;
    try {
      const st = statSync(resolve(cwd, a));
      return st.isFile() && st.size >= defaultParallelBytes();
    } catch {
      return false;
    }
  });
}

// Only when the CLI bundle runs as the program, not when a test or a tool imports this module. The price catalogue
// (~7 ms to read) is read while the workers start, as the parse process does: a range worker asks this thread for its
// prices, which it could otherwise only answer after its own first chunk, the catalogue loaded in it. (A catalogue that
// cannot be loaded is reported when a price is first needed.)
if (require.main?.filename === __filename && wantsRangeWorkers(process.argv.slice(2))) {
  prestartRangeWorkers(defaultRanges() - 1);
  try {
    loadPriceCatalogue();
  } catch {
    // reported by the first price lookup
  }
}
