import { readFileSync } from 'node:fs';

/*
 * Transparent huge pages for our own processes that read big files (the parse process; the CLI on a big file): glibc
 * (2.35 and later) asked to back the memory it maps for big allocations (ArrayBuffers are malloc'd: the columns, the
 * read buffers) with 2 MiB pages where the system allows them (THP `madvise`, the common default), one page fault per
 * 2 MiB instead of 512. Every page such a process touches is new to it, and on a virtual machine a fault of a new page
 * costs the host's work as well: on this machine (a VM, THP `madvise`) touching 128 MB of new memory took ~520 ms in
 * 4 KiB pages and ~260 ms so. Another C library, an older glibc or THP `never` ignores the setting.
 */

/** The `GLIBC_TUNABLES` value that asks for huge pages, keeping the user's own tunables (their hugetlb setting wins). */
export function withHugePages(tunables: string | undefined): string {
  if (!tunables) return 'glibc.malloc.hugetlb=1';
  return /(^|:)glibc\.malloc\.hugetlb=/.test(tunables) ? tunables : `${tunables}:glibc.malloc.hugetlb=1`;
}

/** The system's THP mode (`always`, `madvise`, `never`), or undefined where there is none to read (not Linux). */
export function hugePagesMode(path = '/sys/kernel/mm/transparent_hugepage/enabled'): string | undefined {
  try {
    return /\[(\w+)\]/.exec(readFileSync(path, 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

/** The glibc this process runs on, as [major, minor], or undefined (another C library, or not Linux). */
export function glibcVersion(): [number, number] | undefined {
  if (process.platform !== 'linux') return undefined;
  const v = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header?.glibcVersionRuntime;
  const m = v ? /^(\d+)\.(\d+)/.exec(v) : null;
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/**
 * Set in the environment of a process run again to get huge pages (the CLI's child): it never runs again itself, even
 * where the C library leaves GLIBC_TUNABLES out of its environment (a program with raised privileges).
 */
export const REEXEC_ENV = 'LLM_COST_LENS_REEXEC';

/**
 * Whether a process started with `withHugePages` would get huge pages it does not get now: not such a process itself
 * (`REEXEC_ENV`), THP `madvise` (with `always` every process has them), glibc 2.35 or later, and no hugetlb tunable
 * set already (the user's, or ours).
 */
export function hugePagesWouldHelp(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env[REEXEC_ENV] || process.platform !== 'linux' || withHugePages(env.GLIBC_TUNABLES) === env.GLIBC_TUNABLES) return false;
  if (hugePagesMode() !== 'madvise') return false;
  const v = glibcVersion();
  return v !== undefined && (v[0] > 2 || (v[0] === 2 && v[1] >= 35));
}
