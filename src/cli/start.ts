// The command line's first module (main.ts imports it before anything else, so this runs before its other modules do;
// the bundle is compiled as a whole first): when a trace file named on the command line is big enough to be read by several threads, their range
// workers start now, while the rest runs (see node/rangeWorkers.ts); loadParallel takes them. Or, where huge pages
// would help, the command is handed to a child process that asks for them (`handover`), and runs there.
import { type ChildProcess, spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { constants } from 'node:os';
import { resolve } from 'node:path';
import { loadPriceCatalogue } from '../core/pricing';
import { hugePagesWouldHelp, REEXEC_ENV, withHugePages } from '../node/hugePages';
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

/** Signals passed on to the child: what a terminal, a CI step's timeout or a supervisor sends. */
const PASSED_ON: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * The command handed to a child process asking for huge pages (`runWithHugePages`), when this process did so: its
 * exit code, or undefined when no child could start (the command then runs here). main.ts waits for it.
 */
export let handover: Promise<number | undefined> | undefined;

// Only when the CLI bundle runs as the program, not when a test or a tool imports this module. The price catalogue
// (~7 ms to read) is read while the workers start, as the parse process does: a range worker asks this thread for its
// prices, which it could otherwise only answer after its own first chunk, the catalogue loaded in it. (A catalogue that
// cannot be loaded is reported when a price is first needed.)
if (require.main?.filename === __filename && wantsRangeWorkers(process.argv.slice(2))) {
  // Where huge pages would help (Linux, glibc 2.35+, THP `madvise`) and are not asked for yet, the command runs again
  // as a child that asks for them (node/hugePages.ts), this process passing signals on and exiting as it did.
  if (hugePagesWouldHelp()) handover = runWithHugePages();
  else {
    prestartRangeWorkers(defaultRanges() - 1);
    try {
      loadPriceCatalogue();
    } catch {
      // reported by the first price lookup
    }
  }
}

/**
 * Runs this command again in a child process whose glibc backs big allocations with huge pages (`withHugePages`), the
 * standard streams its own, this process's V8 flags (`execArgv`: an `--inspect` port is then the child's to take)
 * passed on; resolves to the exit code to leave with (a signal's: 128 + its number, as a shell gives), or undefined
 * when no child could be started. SIGINT, SIGTERM and SIGHUP sent to this process are passed on to the child (a
 * SIGKILL cannot be). The child is marked (`REEXEC_ENV`) so that it never runs again itself, whatever its C library
 * makes of the tunables. `report` on the 1M-call file on this machine (a VM, THP `madvise`), eight
 * runs of each alternated, the child's start included: medians 1.02 s against 1.12 s without (the
 * first version, which waited in spawnSync), then, with this one, in three sets as the machine slowed down, 1.14, 1.34
 * and 1.22 s against 1.18, 1.41 and 1.27 s: ~4–9% quicker.
 */
function runWithHugePages(): Promise<number | undefined> {
  return new Promise((resolve) => {
    const env = { ...process.env, GLIBC_TUNABLES: withHugePages(process.env.GLIBC_TUNABLES), [REEXEC_ENV]: '1' };
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, [...process.execArgv, __filename, ...process.argv.slice(2)], { stdio: 'inherit', env });
    } catch {
      resolve(undefined);
      return;
    }
    const pass = (s: NodeJS.Signals) => child.kill(s);
    for (const s of PASSED_ON) process.on(s, pass);
    child.on('error', () => resolve(undefined));
    child.on('exit', (code, signal) => {
      for (const s of PASSED_ON) process.off(s, pass);
      resolve(signal ? 128 + (constants.signals[signal] ?? 0) : (code ?? 1));
    });
  });
}
