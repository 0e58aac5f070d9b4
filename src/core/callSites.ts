/**
 * Finds calls of tagged LLM wrappers (`traced_call(feature="x")`, `measureLLM("x", "gpt-4o", fn)`,
 * `@track_llm_call(agent_id="a")`) in Python, TypeScript and JavaScript source text, and reads the literal tags
 * they pass. Pure: text in, sites out. A small tokenizer per language family skips comments and strings (f-strings,
 * raw and triple-quoted strings, template literals with `${}` nesting, regex literals), so a wrapper name inside a
 * string or comment is never a call. Lines and columns are 1-based; columns count UTF-16 code units.
 */

/** A dimension a call site can be tagged with. */
export type SiteTagDim = 'feature' | 'user' | 'agent' | 'template' | 'tool' | 'model';

/** The tag dimensions, in display order. */
export const SITE_TAG_DIMS: readonly SiteTagDim[] = ['feature', 'user', 'agent', 'template', 'tool', 'model'];

/** How one wrapper function passes its tags. */
export interface WrapperSpec {
  /** Function name, optionally with receiver: 'traced_call', 'tracer.start_run', 'measureLLM'. A spec without receiver also matches `anything.name(`. */
  name: string;
  /** Keyword/property arguments mapped to a tag: { feature: 'feature', user_id: 'user', model: 'model', agent_id: 'agent', template_version: 'template' } */
  keywords?: Record<string, SiteTagDim>;
  /** Positional arguments (0-based) mapped to a tag: { 0: 'feature', 1: 'model' } */
  positional?: Record<number, SiteTagDim>;
  /** Keyword arguments whose value is a dict/object literal whose keys are read with `keywords` (e.g. metadata=, tags=). */
  objectArgs?: string[];
  /** The call is a decorator: the site is the decorated function (its `def`/`function` line). */
  decorator?: boolean;
}

/** One call of a wrapper found in a source text. */
export interface CallSiteMatch {
  /** The `name` of the spec that matched. */
  wrapper: string;
  /** 1-based line of the call (for a decorator: the decorator line). */
  line: number;
  /** 1-based column of the function name (the last segment of `a.b.name`), in UTF-16 code units. */
  column: number;
  /** 1-based line of the closing parenthesis (the last line of the text when it is missing; `line` for a bare decorator). */
  endLine: number;
  /** Literal tag values found. */
  tags: Partial<Record<SiteTagDim, string>>;
  /** Tags given by a non-literal (a variable, a call, an f-string with {…}, a template literal with ${…}). Never also in `tags`. */
  dynamic: SiteTagDim[];
  /** For decorators: name of the function decorated. */
  decoratedFunction?: string;
  /** For decorators: 1-based line of the decorated function's name. */
  decoratedLine?: number;
}

/**
 * The argument names read as tags by the default wrappers, and by user wrappers that give no `keywords`:
 * feature/feature_name, user_id/userId/user, agent_id/agentId/agent, template_version/templateVersion/
 * prompt_version/promptVersion, tool/tool_name, model.
 */
export const DEFAULT_TAG_KEYWORDS: Readonly<Record<string, SiteTagDim>> = Object.freeze({
  feature: 'feature',
  feature_name: 'feature',
  featureName: 'feature',
  user_id: 'user',
  userId: 'user',
  user: 'user',
  agent_id: 'agent',
  agentId: 'agent',
  agent: 'agent',
  template_version: 'template',
  templateVersion: 'template',
  prompt_version: 'template',
  promptVersion: 'template',
  tool: 'tool',
  tool_name: 'tool',
  toolName: 'tool',
  model: 'model',
});

/** Argument names whose dict/object value is read for tags by the default wrappers and by user wrappers that give no `objectArgs`. */
export const DEFAULT_OBJECT_ARGS: readonly string[] = ['metadata', 'tags'];

const kw = (): Record<string, SiteTagDim> => ({ ...DEFAULT_TAG_KEYWORDS });
const objs = (): string[] => [...DEFAULT_OBJECT_ARGS];

/**
 * The wrappers recognised without configuration: Python `traced_call(feature=…)`, `tracer.start_run(metadata={…})`,
 * `with tracer.trace(tags={…})`, `@track_llm_call(agent_id=…)`; TS/JS `interceptCompletion(feature, …)`,
 * `measureLLM(feature, model, fn)`, `tracedCall({ feature, model }, …)`, `withTrace({ metadata: {…} }, …)`.
 */
export const DEFAULT_WRAPPERS: WrapperSpec[] = [
  { name: 'traced_call', keywords: kw(), objectArgs: objs() },
  { name: 'tracer.start_run', keywords: kw(), objectArgs: objs() },
  { name: 'tracer.trace', keywords: kw(), objectArgs: objs() },
  { name: 'track_llm_call', keywords: kw(), objectArgs: objs(), decorator: true },
  { name: 'interceptCompletion', keywords: kw(), positional: { 0: 'feature' }, objectArgs: objs() },
  { name: 'measureLLM', keywords: kw(), positional: { 0: 'feature', 1: 'model' }, objectArgs: objs() },
  { name: 'tracedCall', keywords: kw(), objectArgs: objs() },
  { name: 'withTrace', keywords: kw(), objectArgs: objs() },
];

// ---------------------------------------------------------------------------------------------------------------
// Tokens

const IDENT = 0;
const PUNCT = 1;
const STR = 2;
const NUM = 3;
/** A regex literal or anything else that is a value but not a literal we read. */
const OTHER = 4;

interface Tok {
  k: number;
  /** Offsets in the text: [s, e). */
  s: number;
  e: number;
  line: number;
  col: number;
  /** Text for identifiers, punctuation and numbers; '' for strings. */
  t: string;
  /** Strings: the content range, before decoding. */
  cs: number;
  ce: number;
  /** Strings: 0 plain, 1 raw (Python r''), 2 Python f-string without fields ({{ }} escapes), 3 template literal. */
  sk: number;
  /** Strings with an interpolation: `f"{x}"`, `` `${x}` ``. */
  dyn: boolean;
}

const OPS3 = new Set(['...', '===', '!==', '**=', '//=', '>>=', '<<=', '&&=', '||=', '??=']);
const OPS2 = new Set([
  '?.', '=>', '==', '!=', '<=', '>=', '&&', '||', '??', '**', '++', '--', '+=', '-=', '*=', '/=', '%=', '&=',
  '|=', '^=', ':=', '->', '@=', '//',
]);
/** Maximum nesting of strings inside interpolations before the scanner stops looking inside them. */
const MAX_NEST = 48;

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 13 || c === 11 || c === 12 || c === 0xa0 || c === 0xfeff ||
    (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x3000 || c === 0x202f || c === 0x205f;
}

function isIdentStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 36 || (c > 0x7f && !isSpace(c));
}

function isIdentPart(c: number): boolean {
  return isIdentStart(c) || (c >= 48 && c <= 57);
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** The shared scanner state: position, line bookkeeping and the token list. */
class Scanner {
  readonly toks: Tok[] = [];
  i = 0;
  line = 1;
  /** Offset of the first character of the current line. */
  ls = 0;
  readonly n: number;

  constructor(readonly src: string) {
    this.n = src.length;
  }

  push(k: number, s: number, e: number, line: number, col: number, t: string): Tok {
    const tok: Tok = { k, s, e, line, col, t, cs: 0, ce: 0, sk: 0, dyn: false };
    this.toks.push(tok);
    return tok;
  }

  newline(at: number): void {
    this.line++;
    this.ls = at + 1;
  }

  /** Skips a backslash escape at `i` (the backslash), counting an escaped line break. */
  escape(): void {
    const src = this.src;
    const c = src.charCodeAt(this.i + 1);
    if (c === 10) {
      this.newline(this.i + 1);
      this.i += 2;
    } else if (c === 13 && src.charCodeAt(this.i + 2) === 10) {
      this.newline(this.i + 2);
      this.i += 3;
    } else this.i += this.i + 1 < this.n ? 2 : 1;
  }

  number(): void {
    const { src, n } = this;
    const s = this.i;
    let j = s + 1;
    while (j < n) {
      const c = src.charCodeAt(j);
      if (isIdentPart(c) || c === 46) j++;
      else break;
    }
    this.push(NUM, s, j, this.line, s - this.ls + 1, src.slice(s, j));
    this.i = j;
  }

  punct(): void {
    const src = this.src;
    const s = this.i;
    const line = this.line;
    const col = s - this.ls + 1;
    const three = src.slice(s, s + 3);
    if (OPS3.has(three)) {
      this.push(PUNCT, s, s + 3, line, col, three);
      this.i = s + 3;
      return;
    }
    const two = three.slice(0, 2);
    // `a?.5:b` is a conditional, not optional chaining.
    if (OPS2.has(two) && !(two === '?.' && isDigit(src.charCodeAt(s + 2)))) {
      this.push(PUNCT, s, s + 2, line, col, two);
      this.i = s + 2;
      return;
    }
    this.push(PUNCT, s, s + 1, line, col, src[s]);
    this.i = s + 1;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Python

const PY_PREFIXES = new Set(['r', 'u', 'b', 'f', 't', 'br', 'rb', 'fr', 'rf', 'tr', 'rt']);

class PyScanner extends Scanner {
  run(): Tok[] {
    const { src, n } = this;
    while (this.i < n) {
      const i = this.i;
      const c = src.charCodeAt(i);
      if (c === 10) {
        this.newline(i);
        this.i++;
      } else if (isSpace(c) || c === 92) this.i++; // `\` line continuation
      else if (c === 35) this.skipLine();
      else if (isIdentStart(c)) {
        let j = i + 1;
        while (j < n && isIdentPart(src.charCodeAt(j))) j++;
        const q = src.charCodeAt(j);
        if ((q === 34 || q === 39) && j - i <= 2 && PY_PREFIXES.has(src.slice(i, j).toLowerCase())) {
          const line = this.line;
          const col = i - this.ls + 1;
          const p = src.slice(i, j).toLowerCase();
          this.i = j;
          this.string(i, line, col, p.includes('r'), p.includes('f') || p.includes('t'), 0);
        } else {
          this.push(IDENT, i, j, this.line, i - this.ls + 1, src.slice(i, j));
          this.i = j;
        }
      } else if (c === 34 || c === 39) this.string(i, this.line, i - this.ls + 1, false, false, 0);
      else if (isDigit(c) || (c === 46 && isDigit(src.charCodeAt(i + 1)))) this.number();
      else this.punct();
    }
    return this.toks;
  }

  skipLine(): void {
    const j = this.src.indexOf('\n', this.i);
    this.i = j < 0 ? this.n : j;
  }

  /**
   * Scans a string whose opening quote is at `this.i`; `start` is where its prefix began. Pushes a token unless
   * `nest` > 0 (a string inside an f-string field). A single-quoted string ends, unterminated, at a line break.
   */
  string(start: number, line: number, col: number, raw: boolean, fmt: boolean, nest: number): void {
    const { src, n } = this;
    const q = src.charCodeAt(this.i);
    const triple = src.charCodeAt(this.i + 1) === q && src.charCodeAt(this.i + 2) === q;
    this.i += triple ? 3 : 1;
    const cs = this.i;
    let ce = n;
    let dyn = false;
    while (this.i < n) {
      const i = this.i;
      const c = src.charCodeAt(i);
      if (c === 92) this.escape();
      else if (c === 10) {
        if (!triple) {
          ce = i;
          break;
        }
        this.newline(i);
        this.i++;
      } else if (c === q && (!triple || (src.charCodeAt(i + 1) === q && src.charCodeAt(i + 2) === q))) {
        ce = i;
        this.i += triple ? 3 : 1;
        break;
      } else if (fmt && c === 123) {
        if (src.charCodeAt(i + 1) === 123) this.i += 2;
        else {
          dyn = true;
          this.i++;
          if (this.field(triple, nest)) {
            ce = this.i;
            break;
          }
        }
      } else this.i++;
    }
    if (nest > 0) return;
    const tok = this.push(STR, start, this.i, line, col, '');
    tok.cs = cs;
    tok.ce = Math.max(cs, ce);
    tok.sk = raw ? 1 : fmt ? 2 : 0;
    tok.dyn = dyn;
  }

  /**
   * Skips an f-string replacement field after its `{`, up to and including the closing `}`. Strings inside the
   * expression are scanned (Python 3.12 lets them reuse the outer quote); after a top-level `:` (the format spec)
   * quotes are plain characters. Returns true when a line break ends a single-quoted f-string inside the field.
   */
  field(triple: boolean, nest: number): boolean {
    const { src, n } = this;
    let depth = 0;
    let spec = false;
    while (this.i < n) {
      const i = this.i;
      const c = src.charCodeAt(i);
      if (c === 10) {
        if (!triple) return true;
        this.newline(i);
        this.i++;
      } else if (c === 92) this.escape();
      else if (!spec && (c === 34 || c === 39) && nest < MAX_NEST) {
        this.string(i, 0, 0, false, false, nest + 1);
      } else if (!spec && isIdentStart(c)) {
        let j = i + 1;
        while (j < n && isIdentPart(src.charCodeAt(j))) j++;
        const q = src.charCodeAt(j);
        const p = src.slice(i, j).toLowerCase();
        if ((q === 34 || q === 39) && j - i <= 2 && PY_PREFIXES.has(p) && nest < MAX_NEST) {
          this.i = j;
          this.string(i, 0, 0, p.includes('r'), p.includes('f') || p.includes('t'), nest + 1);
        } else this.i = j;
      } else if (c === 40 || c === 91 || c === 123) {
        depth++;
        this.i++;
      } else if (c === 41 || c === 93) {
        if (depth > 0) depth--;
        this.i++;
      } else if (c === 125) {
        this.i++;
        if (depth === 0) return false;
        depth--;
      } else if (c === 58 && depth === 0 && src.charCodeAt(i + 1) !== 61) {
        spec = true;
        this.i++;
      } else this.i++;
    }
    return false;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// TypeScript / JavaScript

/** Keywords after which a `/` starts a regex literal rather than a division. */
const JS_REGEX_AFTER = new Set([
  'return', 'typeof', 'instanceof', 'in', 'of', 'new', 'delete', 'void', 'throw', 'case', 'do', 'else', 'yield', 'await',
]);

class JsScanner extends Scanner {
  run(): Tok[] {
    const { src, n } = this;
    if (src.startsWith('#!')) this.skipLine();
    while (this.i < n) {
      const i = this.i;
      const c = src.charCodeAt(i);
      if (c === 10) {
        this.newline(i);
        this.i++;
      } else if (isSpace(c)) this.i++;
      else if (c === 47 && src.charCodeAt(i + 1) === 47) this.skipLine();
      else if (c === 47 && src.charCodeAt(i + 1) === 42) this.blockComment();
      else if (isIdentStart(c) || c === 35) {
        let j = i + 1;
        while (j < n && isIdentPart(src.charCodeAt(j))) j++;
        this.push(IDENT, i, j, this.line, i - this.ls + 1, src.slice(i, j));
        this.i = j;
      } else if (c === 34 || c === 39) this.quoted(true);
      else if (c === 96) this.template(true, 0);
      else if (isDigit(c) || (c === 46 && isDigit(src.charCodeAt(i + 1)))) this.number();
      else if (c === 47 && this.regexAllowed()) this.regex();
      else this.punct();
    }
    return this.toks;
  }

  skipLine(): void {
    const j = this.src.indexOf('\n', this.i);
    this.i = j < 0 ? this.n : j;
  }

  blockComment(): void {
    const { src, n } = this;
    const end = src.indexOf('*/', this.i + 2);
    const stop = end < 0 ? n : end + 2;
    for (let j = src.indexOf('\n', this.i); j >= 0 && j < stop; j = src.indexOf('\n', j + 1)) this.newline(j);
    this.i = stop;
  }

  regexAllowed(): boolean {
    const prev = this.toks[this.toks.length - 1];
    if (!prev) return true;
    if (prev.k === PUNCT) return prev.t !== ')' && prev.t !== ']';
    if (prev.k === IDENT) return JS_REGEX_AFTER.has(prev.t);
    return false;
  }

  /** A regex literal never spans lines, so a misjudged `/` costs at most the rest of one line. */
  regex(): void {
    const { src, n } = this;
    const s = this.i;
    let j = s + 1;
    let cls = false;
    while (j < n) {
      const c = src.charCodeAt(j);
      if (c === 10) break;
      if (c === 92) j += src.charCodeAt(j + 1) === 10 ? 1 : 2;
      else if (c === 91) {
        cls = true;
        j++;
      } else if (c === 93) {
        cls = false;
        j++;
      } else if (c === 47 && !cls) {
        j++;
        while (j < n && isIdentPart(src.charCodeAt(j))) j++;
        break;
      } else j++;
    }
    j = Math.min(j, n);
    this.push(OTHER, s, j, this.line, s - this.ls + 1, '');
    this.i = j;
  }

  /** A '…' or "…" string; ends, unterminated, at a line break. */
  quoted(emit: boolean): void {
    const { src, n } = this;
    const s = this.i;
    const line = this.line;
    const col = s - this.ls + 1;
    const q = src.charCodeAt(s);
    this.i++;
    let ce = n;
    while (this.i < n) {
      const c = src.charCodeAt(this.i);
      if (c === 92) this.escape();
      else if (c === 10) {
        ce = this.i;
        break;
      } else if (c === q) {
        ce = this.i;
        this.i++;
        break;
      } else this.i++;
    }
    if (!emit) return;
    const tok = this.push(STR, s, this.i, line, col, '');
    tok.cs = s + 1;
    tok.ce = Math.max(s + 1, ce);
  }

  /** A template literal; `${…}` fields are skipped with strings, templates and comments inside them. */
  template(emit: boolean, nest: number): void {
    const { src, n } = this;
    const s = this.i;
    const line = this.line;
    const col = s - this.ls + 1;
    this.i++;
    let ce = n;
    let dyn = false;
    while (this.i < n) {
      const i = this.i;
      const c = src.charCodeAt(i);
      if (c === 92) this.escape();
      else if (c === 10) {
        this.newline(i);
        this.i++;
      } else if (c === 96) {
        ce = i;
        this.i++;
        break;
      } else if (c === 36 && src.charCodeAt(i + 1) === 123) {
        dyn = true;
        this.i += 2;
        this.field(nest);
      } else this.i++;
    }
    if (!emit) return;
    const tok = this.push(STR, s, this.i, line, col, '');
    tok.cs = s + 1;
    tok.ce = Math.max(s + 1, ce);
    tok.sk = 3;
    tok.dyn = dyn;
  }

  /** Skips a `${…}` expression after `${`, up to and including its `}`. */
  field(nest: number): void {
    const { src, n } = this;
    let depth = 0;
    while (this.i < n) {
      const i = this.i;
      const c = src.charCodeAt(i);
      if (c === 10) {
        this.newline(i);
        this.i++;
      } else if (nest < MAX_NEST && (c === 34 || c === 39)) this.quoted(false);
      else if (nest < MAX_NEST && c === 96) this.template(false, nest + 1);
      else if (c === 47 && src.charCodeAt(i + 1) === 47) this.skipLine();
      else if (c === 47 && src.charCodeAt(i + 1) === 42) this.blockComment();
      else if (c === 123) {
        depth++;
        this.i++;
      } else if (c === 125) {
        this.i++;
        if (depth === 0) return;
        depth--;
      } else this.i++;
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// String values

const SIMPLE_ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', b: '\b', f: '\f', v: '\v', 0: '\0' };

/** The value of a literal string token (escapes decoded; `{{` in f-strings; raw strings kept as written). */
function stringValue(src: string, tok: Tok): string {
  const body = src.slice(tok.cs, tok.ce);
  if (tok.sk === 1) return body;
  let out = body.includes('\\') ? decodeEscapes(body) : body;
  if (tok.sk === 2) out = out.replace(/\{\{/g, '{').replace(/\}\}/g, '}');
  return out;
}

function decodeEscapes(body: string): string {
  return body.replace(/\\(u\{[0-9a-fA-F]+\}|u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|\r\n|[\s\S])/g, (_m, e: string) => {
    if (e === '\n' || e === '\r\n') return '';
    const simple = SIMPLE_ESCAPES[e];
    if (simple !== undefined) return simple;
    if (e.length > 1 && (e[0] === 'u' || e[0] === 'x')) {
      const code = parseInt(e[1] === '{' ? e.slice(2, -1) : e.slice(1), 16);
      return code <= 0x10ffff ? String.fromCodePoint(code) : '';
    }
    return e;
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Matching

interface CompiledSpec {
  spec: WrapperSpec;
  /** Receiver segments before the name, e.g. ['tracer'] for 'tracer.start_run'. */
  receiver: string[];
  keywords: Map<string, SiteTagDim>;
  positional: Map<number, SiteTagDim>;
  objectArgs: Set<string>;
}

type SpecIndex = Map<string, CompiledSpec[]>;

const NAME_RE = /^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*$/;
const DIM_SET = new Set<string>(SITE_TAG_DIMS);
/** Compiled specs per wrapper array, with the entries they were built from (a changed array is recompiled). */
const indexCache = new WeakMap<readonly WrapperSpec[], { from: WrapperSpec[]; index: SpecIndex }>();

function compile(wrappers: readonly WrapperSpec[]): SpecIndex {
  const cached = indexCache.get(wrappers);
  if (cached && cached.from.length === wrappers.length && cached.from.every((w, i) => w === wrappers[i])) return cached.index;
  const index: SpecIndex = new Map();
  for (const spec of wrappers) {
    if (!spec || typeof spec.name !== 'string' || !NAME_RE.test(spec.name)) continue;
    const segs = spec.name.split('.');
    const keywords = new Map<string, SiteTagDim>();
    if (spec.keywords && typeof spec.keywords === 'object') {
      for (const [k, v] of Object.entries(spec.keywords)) if (DIM_SET.has(v)) keywords.set(k, v);
    }
    const positional = new Map<number, SiteTagDim>();
    if (spec.positional && typeof spec.positional === 'object') {
      for (const [k, v] of Object.entries(spec.positional)) {
        const idx = Number(k);
        if (Number.isInteger(idx) && idx >= 0 && DIM_SET.has(v)) positional.set(idx, v);
      }
    }
    const objectArgs = new Set(Array.isArray(spec.objectArgs) ? spec.objectArgs.filter((s) => typeof s === 'string') : []);
    const last = segs[segs.length - 1];
    const list = index.get(last) ?? [];
    list.push({ spec, receiver: segs.slice(0, -1), keywords, positional, objectArgs });
    index.set(last, list);
  }
  // The most specific receiver is tried first.
  for (const list of index.values()) list.sort((a, b) => b.receiver.length - a.receiver.length);
  indexCache.set(wrappers, { from: [...wrappers], index });
  return index;
}

/**
 * Finds the calls of `wrappers` in a source text, with the literal tags they pass and the tags they pass as
 * non-literals. Definitions of a wrapper (`def traced_call(`, `function measureLLM(`, a method `measureLLM(x) {`)
 * are not calls. Never throws: bad or unterminated input yields the sites found so far.
 * @param text the whole file
 * @param language the language family of the file; anything else gives no sites
 * @param wrappers the specs to look for (default {@link DEFAULT_WRAPPERS})
 * @returns the sites in text order
 */
export function findCallSites(
  text: string,
  language: 'python' | 'typescript' | 'javascript',
  wrappers: WrapperSpec[] = DEFAULT_WRAPPERS,
): CallSiteMatch[] {
  if (typeof text !== 'string' || text.length === 0 || !Array.isArray(wrappers)) return [];
  if (language !== 'python' && language !== 'typescript' && language !== 'javascript') return [];
  const index = compile(wrappers);
  let present = false;
  for (const name of index.keys()) {
    if (text.includes(name)) {
      present = true;
      break;
    }
  }
  if (!present) return [];
  const py = language === 'python';
  const out: CallSiteMatch[] = [];
  try {
    const toks = py ? new PyScanner(text).run() : new JsScanner(text).run();
    const m = new Matcher(text, toks, py, language === 'typescript');
    for (let i = 0; i < toks.length; i++) {
      const t = toks[i];
      if (t.k !== IDENT) continue;
      const specs = index.get(t.t);
      if (!specs) continue;
      const site = m.matchAt(i, specs);
      if (site) out.push(site);
    }
  } catch {
    // Defensive: the scanner and matcher are written not to throw; if they do, keep what was found.
  }
  return out;
}

const PY_DEF = new Set(['def', 'class']);
const JS_DEF = new Set(['function', 'class']);
const MODIFIERS = new Set([
  'async', 'export', 'default', 'public', 'private', 'protected', 'static', 'readonly', 'override', 'abstract',
  'declare', 'get', 'set', 'accessor',
]);
const NULLISH = new Set(['None', 'null', 'undefined']);
const BOOLEANS = new Set(['True', 'False', 'true', 'false']);
/** Tokens after which `name(…): T` is a TS method signature rather than a call in a conditional. */
const METHOD_BEFORE = new Set(['{', '}', ';', ',', ')', '*']);
const MAX_OBJECT_DEPTH = 4;

type Value =
  | { kind: 'none' }
  | { kind: 'lit'; text: string }
  | { kind: 'dyn' }
  | { kind: 'obj'; entries: { key: string; a: number; b: number }[] };

const NONE: Value = { kind: 'none' };
const DYN: Value = { kind: 'dyn' };

class Matcher {
  constructor(readonly src: string, readonly toks: Tok[], readonly py: boolean, readonly ts: boolean) {}

  is(i: number, text: string): boolean {
    const t = this.toks[i];
    return t !== undefined && t.k === PUNCT && t.t === text;
  }

  matchAt(i: number, specs: CompiledSpec[]): CallSiteMatch | undefined {
    const toks = this.toks;
    const name = toks[i];
    // Receiver chain: a.b?.name
    const chain: string[] = [];
    let j = i;
    while ((this.is(j - 1, '.') || this.is(j - 1, '?.')) && toks[j - 2]?.k === IDENT) {
      chain.unshift(toks[j - 2].t);
      j -= 2;
    }
    const hasReceiver = j < i || this.is(j - 1, '.') || this.is(j - 1, '?.');
    const cs = specs.find((c) => c.receiver.length <= chain.length &&
      c.receiver.every((seg, k) => seg === chain[chain.length - c.receiver.length + k]));
    if (!cs) return undefined;
    const before = toks[j - 1];
    if (!hasReceiver && before?.k === IDENT) {
      if (this.py ? PY_DEF.has(before.t) : JS_DEF.has(before.t)) return undefined;
    }
    if (!this.py && !hasReceiver && this.is(j - 1, '*') && toks[j - 2]?.t === 'function') return undefined;
    const decorator = this.is(j - 1, '@') && (!this.py || this.startsLine(j - 1));

    let k = i + 1;
    if (!this.py && this.is(k, '?.') && this.is(k + 1, '(')) k++;
    if (this.ts && this.is(k, '<')) k = this.skipTypeArgs(k);
    const site: CallSiteMatch = { wrapper: cs.spec.name, line: name.line, column: name.col, endLine: name.line, tags: {}, dynamic: [] };
    if (!this.is(k, '(')) {
      if (!decorator) return undefined;
      this.decorated(site, i + 1);
      return site;
    }
    const { close, args } = this.args(k);
    const closeTok = toks[close] ?? toks[toks.length - 1];
    site.endLine = closeTok.line;
    // A method definition or signature: `measureLLM(x) {` / `measureLLM(x): T;` (not `c ? measureLLM(x) : y`).
    if (!this.py && !hasReceiver && !decorator && close < toks.length) {
      if (this.is(close + 1, '{')) return undefined;
      if (this.ts && this.is(close + 1, ':') &&
        (before === undefined || (before.k === PUNCT && METHOD_BEFORE.has(before.t)) || (before.k === IDENT && MODIFIERS.has(before.t)))) {
        return undefined;
      }
    }
    this.readTags(site, cs, args);
    if (decorator) this.decorated(site, close + 1);
    return site;
  }

  /** True when the token is the first on its line (a Python decorator, not matrix multiplication). */
  startsLine(at: number): boolean {
    const prev = this.toks[at - 1];
    return prev === undefined || this.src.lastIndexOf('\n', this.toks[at].s) >= prev.e;
  }

  /** From a `<` after a name, the index after the matching `>` when a `(` follows; otherwise `k` unchanged. */
  skipTypeArgs(k: number): number {
    let depth = 0;
    for (let m = k; m < this.toks.length && m < k + 256; m++) {
      const t = this.toks[m];
      if (t.k !== PUNCT) continue;
      if (t.t === '<') depth++;
      else if (t.t === '>') {
        depth--;
        if (depth === 0) return this.is(m + 1, '(') ? m + 1 : k;
      } else if (t.t === ';') return k;
    }
    return k;
  }

  /** Splits the arguments of the call whose `(` is at `open`: token ranges [a, b) at depth 0. */
  args(open: number): { close: number; args: [number, number][] } {
    const toks = this.toks;
    const args: [number, number][] = [];
    let depth = 0;
    let a = open + 1;
    let m = open + 1;
    for (; m < toks.length; m++) {
      const t = toks[m];
      if (t.k !== PUNCT) continue;
      const c = t.t;
      if (c === '(' || c === '[' || c === '{') depth++;
      else if (c === ')' || c === ']' || c === '}') {
        if (depth === 0) break;
        depth--;
      } else if (c === ',' && depth === 0) {
        args.push([a, m]);
        a = m + 1;
      }
    }
    if (a < m) args.push([a, m]);
    return { close: m, args };
  }

  /** Fills `tags` and `dynamic` from the arguments; direct arguments win over keys of nested objects. */
  readTags(site: CallSiteMatch, cs: CompiledSpec, args: [number, number][]): void {
    const found = new Map<SiteTagDim, { v: Value; pri: number }>();
    const set = (dim: SiteTagDim, v: Value, pri: number) => {
      if (v.kind !== 'lit' && v.kind !== 'dyn') return;
      const old = found.get(dim);
      if (!old || old.pri < pri) found.set(dim, { v, pri });
    };
    const readObject = (v: Value, depth: number) => {
      if (v.kind !== 'obj' || depth > MAX_OBJECT_DEPTH) return;
      for (const e of v.entries) {
        const dim = cs.keywords.get(e.key);
        if (dim) set(dim, this.value(e.a, e.b), -depth);
        else if (cs.objectArgs.has(e.key)) readObject(this.value(e.a, e.b), depth + 1);
      }
    };
    let pos = 0;
    for (const [a, b] of args) {
      if (a >= b) continue;
      const first = this.toks[a];
      if (first.k === PUNCT && (first.t === '*' || first.t === '**' || first.t === '...')) {
        if (first.t !== '**') pos = -1; // positions after a spread are unknown
        continue;
      }
      if (this.py && first.k === IDENT && this.is(a + 1, '=')) {
        const key = first.t;
        const dim = cs.keywords.get(key);
        if (dim) set(dim, this.value(a + 2, b), 1);
        else if (cs.objectArgs.has(key)) readObject(this.value(a + 2, b), 1);
        continue;
      }
      const v = this.value(a, b);
      const dim = pos >= 0 ? cs.positional.get(pos) : undefined;
      if (v.kind === 'obj') readObject(v, 1);
      else if (dim) set(dim, v, 1);
      if (pos >= 0) pos++;
    }
    for (const dim of SITE_TAG_DIMS) {
      const f = found.get(dim);
      if (!f) continue;
      if (f.v.kind === 'lit') site.tags[dim] = f.v.text;
      else site.dynamic.push(dim);
    }
  }

  /** Classifies the expression in tokens [a, b). */
  value(a: number, b: number): Value {
    const toks = this.toks;
    // Strip `as const` / `satisfies T` and whole-expression parentheses.
    for (let guard = 0; guard < 64 && a < b; guard++) {
      if (!this.py && b - a >= 3 && toks[b - 2].k === IDENT && (toks[b - 2].t === 'as' || toks[b - 2].t === 'satisfies') && toks[b - 1].k === IDENT) {
        b -= 2;
      } else if (this.is(a, '(') && this.is(b - 1, ')') && this.matching(a) === b - 1) {
        a++;
        b--;
      } else break;
    }
    if (a >= b) return NONE;
    const first = toks[a];
    if (b - a === 1) {
      if (first.k === STR) return first.dyn ? DYN : { kind: 'lit', text: stringValue(this.src, first) };
      if (first.k === NUM) return { kind: 'lit', text: first.t };
      if (first.k === IDENT && NULLISH.has(first.t)) return NONE;
      if (first.k === IDENT && BOOLEANS.has(first.t)) return { kind: 'lit', text: first.t };
      return DYN;
    }
    if (first.k === STR) {
      // Adjacent strings (Python) or strings joined by `+`.
      let text = '';
      let dyn = false;
      let expectStr = true;
      for (let m = a; m < b; m++) {
        const t = toks[m];
        if (t.k === STR) {
          if (!expectStr && !this.py) return DYN;
          if (t.dyn) dyn = true;
          else text += stringValue(this.src, t);
          expectStr = false;
        } else if (!expectStr && t.k === PUNCT && t.t === '+') expectStr = true;
        else return DYN;
      }
      if (expectStr) return DYN;
      return dyn ? DYN : { kind: 'lit', text };
    }
    if (this.is(a, '{') && this.matching(a) === b - 1) return this.object(a, b - 1);
    if (this.py && first.k === IDENT && first.t === 'dict' && this.is(a + 1, '(') && this.matching(a + 1) === b - 1) {
      return this.dictCall(a + 1);
    }
    return DYN;
  }

  /** The index of the bracket that closes the one at `open` (or the token count). */
  matching(open: number): number {
    let depth = 0;
    for (let m = open; m < this.toks.length; m++) {
      const t = this.toks[m];
      if (t.k !== PUNCT) continue;
      if (t.t === '(' || t.t === '[' || t.t === '{') depth++;
      else if (t.t === ')' || t.t === ']' || t.t === '}') {
        depth--;
        if (depth === 0) return m;
      }
    }
    return this.toks.length;
  }

  /** Entries of a dict/object literal between `{` at `open` and `}` at `close`. */
  object(open: number, close: number): Value {
    const toks = this.toks;
    const entries: { key: string; a: number; b: number }[] = [];
    let depth = 0;
    let a = open + 1;
    const flush = (b: number) => {
      if (a >= b) return;
      const first = toks[a];
      let colon = -1;
      let d = 0;
      for (let m = a; m < b; m++) {
        const t = toks[m];
        if (t.k !== PUNCT) continue;
        if (t.t === '(' || t.t === '[' || t.t === '{') d++;
        else if (t.t === ')' || t.t === ']' || t.t === '}') d--;
        else if (t.t === ':' && d === 0) {
          colon = m;
          break;
        }
      }
      if (colon < 0) {
        // `{ feature }` shorthand: the value is a variable.
        if (!this.py && b - a === 1 && first.k === IDENT) entries.push({ key: first.t, a, b });
        return;
      }
      if (colon !== a + 1) return;
      let key: string | undefined;
      if (first.k === STR && !first.dyn) key = stringValue(this.src, first);
      else if (!this.py && (first.k === IDENT || first.k === NUM)) key = first.t;
      if (key !== undefined) entries.push({ key, a: colon + 1, b });
    };
    for (let m = open + 1; m < close; m++) {
      const t = toks[m];
      if (t.k !== PUNCT) continue;
      if (t.t === '(' || t.t === '[' || t.t === '{') depth++;
      else if (t.t === ')' || t.t === ']' || t.t === '}') depth--;
      else if (t.t === ',' && depth === 0) {
        flush(m);
        a = m + 1;
      }
    }
    flush(close);
    return { kind: 'obj', entries };
  }

  /** Python `dict(feature="x", …)` read as an object. */
  dictCall(open: number): Value {
    const { args } = this.args(open);
    const entries: { key: string; a: number; b: number }[] = [];
    for (const [a, b] of args) {
      if (b - a >= 2 && this.toks[a].k === IDENT && this.is(a + 1, '=')) entries.push({ key: this.toks[a].t, a: a + 2, b });
    }
    return { kind: 'obj', entries };
  }

  /** Sets the decorated function: skips further decorators and modifiers up to `def name` / `function name` / `name(`. */
  decorated(site: CallSiteMatch, from: number): void {
    const toks = this.toks;
    let k = from;
    for (let guard = 0; guard < 64 && k < toks.length; guard++) {
      const t = toks[k];
      if (t.k === PUNCT && t.t === '@') {
        k++;
        while (toks[k]?.k === IDENT && (this.is(k + 1, '.') || this.is(k + 1, '?.'))) k += 2;
        if (toks[k]?.k === IDENT) k++;
        if (this.is(k, '(')) k = this.matching(k) + 1;
        continue;
      }
      if (t.k === PUNCT && t.t === '*') {
        k++;
        continue;
      }
      if (t.k !== IDENT) return;
      if (t.t === 'def' || t.t === 'function' || t.t === 'class') {
        let n = k + 1;
        if (this.is(n, '*')) n++;
        const nameTok = toks[n];
        if (nameTok?.k === IDENT) {
          site.decoratedFunction = nameTok.t;
          site.decoratedLine = nameTok.line;
        }
        return;
      }
      if (MODIFIERS.has(t.t) && toks[k + 1]?.k === IDENT) {
        k++;
        continue;
      }
      if (!this.py && (this.is(k + 1, '(') || this.is(k + 1, '<') || this.is(k + 1, '=') || this.is(k + 1, ':'))) {
        site.decoratedFunction = t.t;
        site.decoratedLine = t.line;
      }
      return;
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Setting

/**
 * Parses the user setting (array of objects) into specs, reporting bad entries as messages; never throws.
 * An entry may also be a bare name string. An entry without `keywords` gets {@link DEFAULT_TAG_KEYWORDS}; without
 * `objectArgs`, {@link DEFAULT_OBJECT_ARGS}. Bad fields are dropped with a message; an entry without a valid name
 * is dropped. A repeated name keeps the first entry.
 */
export function parseWrapperSetting(value: unknown): { wrappers: WrapperSpec[]; problems: string[] } {
  const wrappers: WrapperSpec[] = [];
  const problems: string[] = [];
  if (value === undefined || value === null) return { wrappers, problems };
  if (!Array.isArray(value)) {
    problems.push(`expected an array of wrapper objects, got ${describe(value)}`);
    return { wrappers, problems };
  }
  const seen = new Set<string>();
  const dims = SITE_TAG_DIMS.join(', ');
  value.forEach((raw: unknown, idx) => {
    const at = `wrapper ${idx + 1}`;
    const entry: unknown = typeof raw === 'string' ? { name: raw } : raw;
    if (!isRecord(entry)) {
      problems.push(`${at}: expected an object with a "name", got ${describe(raw)}`);
      return;
    }
    const name = typeof entry.name === 'string' ? entry.name.trim() : undefined;
    if (!name || !NAME_RE.test(name)) {
      problems.push(`${at}: "name" must be a function name such as "traced_call" or "tracer.start_run", got ${describe(entry.name)}`);
      return;
    }
    if (seen.has(name)) {
      problems.push(`${at}: "${name}" is listed twice; the first entry is used`);
      return;
    }
    const spec: WrapperSpec = { name };
    if (entry.keywords === undefined) spec.keywords = kw();
    else if (!isRecord(entry.keywords)) problems.push(`${at} (${name}): "keywords" must be an object mapping argument names to ${dims}`);
    else {
      spec.keywords = {};
      for (const [k, v] of Object.entries(entry.keywords)) {
        if (typeof v === 'string' && DIM_SET.has(v)) spec.keywords[k] = v as SiteTagDim;
        else problems.push(`${at} (${name}): keyword "${k}" maps to ${describe(v)}, expected one of ${dims}`);
      }
    }
    if (entry.positional !== undefined) {
      if (!isRecord(entry.positional)) problems.push(`${at} (${name}): "positional" must be an object such as { "0": "feature" }`);
      else {
        spec.positional = {};
        for (const [k, v] of Object.entries(entry.positional)) {
          const idx = Number(k);
          if (!/^\d+$/.test(k) || !Number.isSafeInteger(idx)) problems.push(`${at} (${name}): positional key "${k}" is not an argument index (0, 1, …)`);
          else if (typeof v !== 'string' || !DIM_SET.has(v)) problems.push(`${at} (${name}): argument ${k} maps to ${describe(v)}, expected one of ${dims}`);
          else spec.positional[idx] = v as SiteTagDim;
        }
      }
    }
    if (entry.objectArgs === undefined) spec.objectArgs = objs();
    else if (!Array.isArray(entry.objectArgs)) problems.push(`${at} (${name}): "objectArgs" must be an array of argument names`);
    else {
      spec.objectArgs = [];
      for (const a of entry.objectArgs) {
        if (typeof a === 'string' && a) spec.objectArgs.push(a);
        else problems.push(`${at} (${name}): objectArgs entry ${describe(a)} is not an argument name`);
      }
    }
    if (entry.decorator !== undefined) {
      if (typeof entry.decorator === 'boolean') spec.decorator = entry.decorator;
      else problems.push(`${at} (${name}): "decorator" must be true or false`);
    }
    for (const k of Object.keys(entry)) {
      if (!['name', 'keywords', 'positional', 'objectArgs', 'decorator'].includes(k)) problems.push(`${at} (${name}): unknown field "${k}" ignored`);
    }
    seen.add(name);
    wrappers.push(spec);
  });
  return { wrappers, problems };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'object') return 'an object';
  return String(v);
}
