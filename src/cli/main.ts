// First: the range workers of a big input start while the rest loads.
import { handover } from './start';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { StringPool } from '../core/callTable';
import { type CopySource, markCopies } from '../core/copies';
import { renderCsv, renderMarkdown, renderTable } from '../core/format';
import { type FieldMapping, parseFieldMapping } from '../core/normalize';
import { explainUnpriced, parsePriceOverrides, PriceBook, type PriceOverride } from '../core/pricing';
import { buildReport } from '../core/report';
import { ingestBytes, newTraceFileState, type TraceFileState } from '../core/traceFile';
import { CANONICAL_DIMS, type CostSource } from '../core/types';
import { expandInputs } from '../node/files';
import { applyScannerEnv } from '../node/scannerEnv';
import { select } from '../core/analysis';
import { type Budget, parseBudgets } from '../core/budgets';
import { runSignalCommand, type SignalCommand } from './signals';
import { loadParallel, loadParallelParts } from '../node/parallelLoad';
import { readTraceFile } from '../node/traceReader';
import { parseTimeUtc } from '../core/values';

declare const __VERSION__: string | undefined;

const USAGE = `Usage: llm-cost-lens <command> <files, folders or globs...> [options]

Commands:
  report      price every call and print the cost by group
  outliers    calls that are outliers within their group, and runaway or retrying traces, with likely causes
  anomalies   hourly spikes, cost-per-call changes, cache drops and model switches per feature and agent
  budget      burn of budgets in the current day or month, pro rata, with a forecast (--budget or --budgets)
  whatif      re-price each group's calls under another model (--model)

Options (a command refuses those it does not take):
  --by DIMS            group by a comma-separated list of dimensions (default: feature; outliers and whatif: one)
                       feature, user, agent, template, tool, provider, model, or any tag key
  --since ISO          only calls at or after this time (e.g. 2026-11-01 or 2026-11-01T12:00Z; not budget)
  --until ISO          only calls before this time (not budget)
  --top N              show the N costliest groups (the rest are summed in one line; not budget)
  --compare            report: add each group's change against the previous period of the same length (needs --since)
  --prices FILE        price overrides, USD per million tokens (default: .llm-cost-lens/prices.json if present)
  --mapping FILE       a JSON field mapping (dot paths) for a record shape not recognised
  --cost-source SRC    auto (recorded cost when present, else computed), recorded, or computed (default: auto)
  --format FMT         table, json, csv or markdown (md for short; default: table; csv and markdown for report only)
  --model ID           whatif: the model to re-price under
  --budget SPEC        budget: SCOPE:PERIOD:USD, e.g. total:day:50 or feature=search:month:200 (repeatable)
  --budgets FILE       budget: a JSON list of {"scope", "value", "period": "day"|"month", "usd"}
  --now ISO            budget: the time to measure at (default: now)
  -h, --help           show this help
  -v, --version        show the version

Files: \`-\` reads standard input.

Exit codes: 0 ok, 1 unexpected error, 2 bad arguments or unreadable input.`;

class UsageError extends Error {}

interface Args {
  command: string;
  inputs: string[];
  by: string[];
  since?: number;
  until?: number;
  top?: number;
  prices?: string;
  mapping?: string;
  costSource: CostSource;
  format: 'table' | 'json' | 'csv' | 'markdown';
  compare: boolean;
  model?: string;
  budgets: string[];
  budgetsFile?: string;
  now?: number;
  /** The options given (canonical names), to tell a command about those it does not take. */
  given: Set<string>;
}

function parseTime(flag: string, v: string): number {
  const t = parseTimeUtc(v);
  if (Number.isFinite(t)) return t;
  if (/^\d{4}-\d{2}-\d{2}(?!\d)/.test(v.trim())) throw new UsageError(`${flag}: ${v.trim().slice(0, 10)} is not a day in the calendar`);
  throw new UsageError(`${flag} expects an ISO date or time, got "${v}"`);
}

export function parseArgs(argv: string[]): Args {
  const a: Args = { command: '', inputs: [], by: ['feature'], costSource: 'auto', format: 'table', compare: false, budgets: [], given: new Set() };
  const need = (i: number, flag: string) => {
    const v = argv[i + 1];
    if (v === undefined || (v.startsWith('--') && v.length > 2)) throw new UsageError(`${flag} needs a value`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const value = (): string => {
      if (eq > 0) return arg.slice(eq + 1);
      const v = need(i, flag);
      i++;
      return v;
    };
    if (flag.startsWith('--')) a.given.add(flag);
    switch (flag) {
      case '--by': {
        const v = value();
        if (!v.trim()) throw new UsageError('--by needs at least one dimension');
        const by = v.split(',').map((s) => s.trim());
        if (by.some((d) => !d)) throw new UsageError(`--by has an empty dimension name in "${v}"`);
        a.by = by;
        break;
      }
      case '--since': a.since = parseTime(flag, value()); break;
      case '--until': a.until = parseTime(flag, value()); break;
      case '--top': {
        const v = value();
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1) throw new UsageError(`--top expects a whole number above 0, got "${v}"`);
        a.top = n;
        break;
      }
      case '--prices': a.prices = value(); break;
      case '--compare': a.compare = true; break;
      case '--model': a.model = value(); break;
      case '--budget': a.budgets.push(value()); break;
      case '--budgets': a.budgetsFile = value(); break;
      case '--now': a.now = parseTime(flag, value()); break;
      case '--mapping': a.mapping = value(); break;
      case '--cost-source': {
        const v = value();
        if (v !== 'auto' && v !== 'recorded' && v !== 'computed') throw new UsageError(`--cost-source expects auto, recorded or computed, got "${v}"`);
        a.costSource = v;
        break;
      }
      case '--format': {
        const v = value();
        if (v !== 'table' && v !== 'json' && v !== 'csv' && v !== 'markdown' && v !== 'md') throw new UsageError(`--format expects table, json, csv or markdown (md), got "${v}"`);
        a.format = v === 'md' ? 'markdown' : v;
        break;
      }
      case '-h':
      case '--help': a.command = 'help'; break;
      case '-v':
      case '--version': a.command = 'version'; break;
      default:
        if (arg.startsWith('-') && arg !== '-') throw new UsageError(`unknown option ${flag}`);
        // "" would resolve to the current folder and read all of it.
        if (!arg.trim()) throw new UsageError(a.command ? 'empty path argument (an unset shell variable?)' : 'empty command');
        if (!a.command) a.command = arg;
        else a.inputs.push(arg);
    }
  }
  // Options the command does not take are refused first (and before any file is read).
  if (COMMANDS.includes(a.command)) checkOptionsFor(a.command, a);
  if (a.since !== undefined && a.until !== undefined && a.since >= a.until) throw new UsageError('--since must be before --until');
  if (a.compare && a.since === undefined) throw new UsageError('--compare needs --since (the previous period has the same length)');
  return a;
}

function loadOverrides(path: string | undefined, cwd: string, warn: (s: string) => void): Map<string, PriceOverride> {
  const explicit = path !== undefined;
  const p = resolve(cwd, path ?? '.llm-cost-lens/prices.json');
  if (!existsSync(p)) {
    if (explicit) throw new UsageError(`price file not found: ${path}`);
    return new Map();
  }
  const r = parsePriceOverrides(readFileSync(p, 'utf8'));
  for (const msg of r.problems) warn(`${p}: ${msg}`);
  if (explicit && r.problems.length && r.overrides.size === 0) throw new UsageError(`price file ${path} has no usable prices`);
  return r.overrides;
}

function loadMapping(path: string | undefined, cwd: string): FieldMapping | undefined {
  if (!path) return undefined;
  const p = resolve(cwd, path);
  if (!existsSync(p)) throw new UsageError(`mapping file not found: ${path}`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(p, 'utf8'));
  } catch (e) {
    throw new UsageError(`mapping file ${path} is not valid JSON: ${(e as Error).message}`);
  }
  const { mapping, problems } = parseFieldMapping(raw);
  if (problems.length) throw new UsageError(`mapping file ${path}: ${problems[0]}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''}`);
  if (!mapping) throw new UsageError(`mapping file ${path} holds no field mapping (null)`);
  return mapping;
}

const COMMANDS = ['report', 'outliers', 'anomalies', 'budget', 'whatif'];

/** Options every command takes. */
const COMMON = ['--prices', '--mapping', '--cost-source', '--format'];

/** The options each command takes besides COMMON: any other is refused rather than silently ignored. */
const COMMAND_OPTIONS: Record<string, string[]> = {
  report: ['--by', '--since', '--until', '--top', '--compare'],
  outliers: ['--by', '--since', '--until', '--top'],
  anomalies: ['--by', '--since', '--until', '--top'],
  budget: ['--budget', '--budgets', '--now'],
  whatif: ['--by', '--since', '--until', '--top', '--model'],
};

/** What to say about an option the command does not take: which commands do, and what may have been meant. */
const NOT_HERE_HINT: Record<string, string> = {
  '--model': 'it is the model whatif re-prices under; to see the cost per model, use --by model',
  '--budget': 'budgets are measured by the budget command',
  '--budgets': 'budgets are measured by the budget command',
  '--now': 'it sets the time the budget command measures at',
  '--compare': 'report compares with the previous period',
  '--since': 'budget measures the current day or month at --now',
  '--until': 'budget measures the current day or month at --now',
  '--by': 'budget scopes come with each budget (SCOPE:PERIOD:USD)',
  '--top': 'budget lists every budget',
};

/** Refuses options `command` does not take, and a --by of several dimensions where only one is used. */
function checkOptionsFor(command: string, a: Args): void {
  const allowed = new Set([...COMMON, ...(COMMAND_OPTIONS[command] ?? [])]);
  for (const flag of a.given) {
    if (allowed.has(flag)) continue;
    const takers = Object.keys(COMMAND_OPTIONS).filter((c) => COMMAND_OPTIONS[c].includes(flag));
    throw new UsageError(`${command} does not take ${flag}${takers.length ? ` (only ${takers.join(', ')})` : ''}${NOT_HERE_HINT[flag] ? `: ${NOT_HERE_HINT[flag]}` : ''}`);
  }
  if ((command === 'outliers' || command === 'whatif') && a.by.length > 1) {
    throw new UsageError(`${command} groups by one dimension; --by has ${a.by.length} (${a.by.join(',')})`);
  }
}

/** Budgets from --budget SCOPE:PERIOD:USD flags and a --budgets JSON file. */
function loadBudgets(args: Args, cwd: string): Budget[] {
  const raw: unknown[] = [];
  for (const spec of args.budgets) {
    const m = /^([^:=]+)(?:=([^:]+))?:(day|month):([\d.]+)$/.exec(spec);
    if (!m) throw new UsageError(`--budget expects SCOPE:PERIOD:USD such as total:day:50 or feature=search:month:200, got "${spec}"`);
    raw.push({ scope: m[1], value: m[2], period: m[3], usd: Number(m[4]) });
  }
  if (args.budgetsFile) {
    const p = resolve(cwd, args.budgetsFile);
    if (!existsSync(p)) throw new UsageError(`budgets file not found: ${args.budgetsFile}`);
    try {
      const v = JSON.parse(readFileSync(p, 'utf8'));
      raw.push(...(Array.isArray(v) ? v : [v]));
    } catch (e) {
      throw new UsageError(`budgets file ${args.budgetsFile} is not valid JSON: ${(e as Error).message}`);
    }
  }
  const { budgets, problems } = parseBudgets(raw);
  if (problems.length) throw new UsageError(problems[0]);
  if (!budgets.length) throw new UsageError('budget needs --budget SCOPE:PERIOD:USD or --budgets FILE');
  return budgets;
}

export interface CliIO {
  cwd: string;
  out: (s: string) => void;
  err: (s: string) => void;
}

/** Runs the CLI; returns the exit code. */
/**
 * Trace files read before `runCli` (big ones, on several threads), by path: one state each, with the pool its ids refer
 * to; for `report`, the states of the file's byte ranges as they were read (each with its own strings, not merged).
 */
export interface Preloaded {
  pool: StringPool;
  states: Map<string, TraceFileState[]>;
}

/** Files from this size on are read ahead by loadParallel: several threads from its defaultParallelBytes on (the same rows as one reader). */
const PARALLEL_BYTES = 32 * 1024 * 1024;

/**
 * The command line: big trace files are first parsed in byte ranges on several threads, then `runCli` does the rest.
 * Anything wrong with the arguments is left for `runCli` to report.
 */
export async function mainCli(argv: string[], io: CliIO, opts: { parallelBytes?: number } = {}): Promise<number> {
  const pre: Preloaded = { pool: new StringPool(), states: new Map() };
  try {
    const args = parseArgs(argv);
    if (COMMANDS.includes(args.command) && !args.mapping) {
      const { files, errors } = expandInputs(fileArgs(args.inputs), io.cwd);
      const overrides = errors.length ? undefined : [...loadOverrides(args.prices, io.cwd, () => undefined)];
      for (const f of files) {
        if (!overrides || statSync(f).size < (opts.parallelBytes ?? PARALLEL_BYTES)) continue;
        const display = displayName(f, io.cwd);
        const load = { pool: pre.pool, overrides, final: true, displayName: display, minParallelBytes: opts.parallelBytes, callerReads: true };
        // A report reads the calls once: the ranges' tables serve as they are (the same figures as the merged table).
        pre.states.set(f, args.command === 'report' ? (await loadParallelParts(f, load)).states : [(await loadParallel(f, load)).state]);
      }
    }
  } catch {
    pre.states.clear(); // runCli reads (and reports on) everything itself
  }
  return runCli(argv, io, pre.states.size ? pre : undefined);
}

/** The file, folder and glob arguments (\`-\`, standard input, is read apart). */
const fileArgs = (inputs: readonly string[]) => inputs.filter((a) => a !== '-');

/**
 * A warning per grouping dimension that is neither a canonical one nor a tag key of any call read (a typo such as
 * \`--by featuer\` would otherwise show every call as unattributed, without a hint).
 */
function unknownDimensions(by: readonly string[], states: readonly TraceFileState[]): string[] {
  const keys = new Set<string>();
  for (const s of states) for (const k of s.table.tags.keys()) keys.add(k);
  const known = new Set<string>(CANONICAL_DIMS);
  const seen = [...keys].sort();
  return by
    .filter((d) => !known.has(d) && !keys.has(d.startsWith('tag:') ? d.slice(4) : d))
    .map((d) => `no call has a "${d}" tag, so every call is unattributed by it (dimensions: ${CANONICAL_DIMS.join(', ')}${seen.length ? `; tag keys in these files: ${seen.slice(0, 12).join(', ')}${seen.length > 12 ? ', …' : ''}` : ''})`);
}

const displayName = (f: string, cwd: string) => (f.startsWith(cwd + '/') ? f.slice(cwd.length + 1) : f);

export function runCli(argv: string[], io: CliIO, preloaded?: Preloaded): number {
  try {
    const args = parseArgs(argv);
    if (args.command === 'help' || (!args.command && !args.inputs.length)) {
      io.out(USAGE + '\n');
      return args.command === 'help' ? 0 : 2;
    }
    if (args.command === 'version') {
      io.out(`${typeof __VERSION__ === 'string' ? __VERSION__ : 'dev'}\n`);
      return 0;
    }
    if (!COMMANDS.includes(args.command)) throw new UsageError(`unknown command "${args.command}" (try: llm-cost-lens report <files>)`);
    if (!args.inputs.length) throw new UsageError(`${args.command} needs at least one trace file, folder or glob`);
    if (args.command !== 'report' && (args.format === 'csv' || args.format === 'markdown')) throw new UsageError(`--format ${args.format} is for report; ${args.command} prints table or json`);
    if (args.command === 'whatif' && !args.model) throw new UsageError('whatif needs --model (the model to re-price under)');
    const paths = fileArgs(args.inputs);
    const { files, errors } = paths.length ? expandInputs(paths, io.cwd) : { files: [], errors: [] };
    if (errors.length) throw new UsageError(errors[0]);
    const prices = new PriceBook(loadOverrides(args.prices, io.cwd, (s) => io.err(`llm-cost-lens: warning: ${s}\n`)));
    const mapping = loadMapping(args.mapping, io.cwd);
    const pool = preloaded?.pool ?? new StringPool();
    const states: TraceFileState[] = [];
    // Each file's first state by its path: a Claude Code message several files hold counts once (CopyIndex).
    const copySources: CopySource[] = [];
    for (const f of files) {
      const at = states.length;
      try {
        const early = preloaded?.states.get(f);
        if (early) states.push(...early);
        else if (statSync(f).isFile()) states.push(readTraceFile(f, { pool, prices, final: true, mapping, displayName: displayName(f, io.cwd) }).state);
        else {
          // A pipe (`report /dev/stdin`, `<(...)`): no size to read up to, so read it to its end, then as a whole.
          const state = newTraceFileState(displayName(f, io.cwd), pool, mapping);
          // Standard input by its descriptor: when it is a socket (a spawned process's), /dev/stdin cannot be opened.
          ingestBytes(state, readFileSync(f === '/dev/stdin' ? 0 : f), true, prices, { fast: !mapping });
          states.push(state);
        }
      } catch (e) {
        throw new UsageError(`cannot read ${f}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      if (states.length > at) copySources.push({ path: f, table: states[at].table, ctx: states[at].ctx });
    }
    if (args.inputs.includes('-')) {
      const state = newTraceFileState('stdin', pool, mapping);
      try {
        ingestBytes(state, readFileSync(0), true, prices, { fast: !mapping });
      } catch (e) {
        throw new UsageError(`cannot read standard input: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      states.push(state);
      copySources.push({ path: '-', table: state.table, ctx: state.ctx });
    }
    markCopies(copySources);
    for (const w of unknownDimensions(args.by, states)) io.err(`llm-cost-lens: warning: ${w}\n`);
    if (args.command !== 'report') {
      const budgets = args.command === 'budget' ? loadBudgets(args, io.cwd) : [];
      if (args.command === 'whatif' && !prices.resolve(args.model)) throw new UsageError(`no price for model "${args.model}" (add it to the prices file)`);
      const tables = states.map((s) => s.table);
      const slices = select(tables, { sinceMs: args.since, untilMs: args.until });
      const opts = { by: args.by, top: args.top, source: args.costSource, prices, model: args.model, budgets, nowMs: args.now ?? Date.now(), tables };
      const result = runSignalCommand(args.command as SignalCommand, slices, opts);
      // No call to judge (budget: none at all; the others: none in the range): the report's "No LLM calls found in …"
      // with its reasons, not "No hourly anomalies" or "$0.00 ok". The JSON keeps its shape.
      const none = args.command === 'budget' ? tables.every((t) => t.length === 0) : slices.length === 0;
      const text = none ? renderTable(buildReport(states, { by: ['feature'], sinceMs: args.since, untilMs: args.until, costSource: args.costSource })) : result.text;
      io.out(args.format === 'json' ? JSON.stringify(result.json, null, 2) + '\n' : text);
      return 0;
    }
    const report = buildReport(states, { by: args.by, sinceMs: args.since, untilMs: args.until, top: args.top, costSource: args.costSource, compareToPrevious: args.compare });
    explainUnpriced(report.unpriced, prices, args.costSource);
    switch (args.format) {
      case 'json': io.out(JSON.stringify(report, null, 2) + '\n'); break;
      case 'csv': io.out(renderCsv(report)); break;
      case 'markdown': io.out(renderMarkdown(report)); break;
      default: io.out(renderTable(report));
    }
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`llm-cost-lens: ${e.message}\n`);
      return 2;
    }
    io.err(`llm-cost-lens: unexpected error: ${(e as Error).stack ?? e}\n`);
    return 1;
  }
}

if (require.main === module) {
  applyScannerEnv();
  // A reader that stops early (`report … | head -1`): the rest of the output has nowhere to go, which is no error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
  const run = () =>
    mainCli(process.argv.slice(2), {
      cwd: process.cwd(),
      out: (s) => process.stdout.write(s),
      err: (s) => process.stderr.write(s),
    });
  // Handed to a child asking for huge pages (start.ts): its exit code, or run here when it could not start.
  void (handover ? handover.then((code) => code ?? run()) : run()).then((code) => (process.exitCode = code));
}
