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
// Tokens, stored as parallel typed arrays: a 5,000-line file has ~100k tokens, and one object each costs more in
// allocation and GC than the scan itself.

const IDENT = 0;
const PUNCT = 1;
const STR = 2;
const NUM = 3;
/** A regex literal: a value, but not one we read. */
const OTHER = 4;

/** String flags: the kind in the low bits, then whether it interpolates. */
const S_RAW = 1;
const S_FMT = 2;
const S_TPL = 3;
const S_KIND = 3;
const S_DYN = 4;

const OPS = [
  '...', '===', '!==', '**=', '//=', '>>=', '<<=', '&&=', '||=', '??=',
  '?.', '=>', '==', '!=', '<=', '>=', '&&', '||', '??', '**', '++', '--', '+=', '-=', '*=', '/=', '%=', '&=',
  '|=', '^=', ':=', '->', '@=', '//',
];
const OP_CODE = new Map(OPS.map((o, i) => [o, 1000 + i]));
/** Characters that can continue an operator. */
const OP_CHAR = new Uint8Array(128);
for (const c of '=!<>&|?*/%+-^:.@') OP_CHAR[c.charCodeAt(0)] = 1;

/** The code of a punctuation token: its character code, or 1000+ for a multi-character operator. */
function pc(text: string): number {
  return text.length === 1 ? text.charCodeAt(0) : OP_CODE.get(text) ?? -1;
}

const P_LPAREN = pc('(');
const P_RPAREN = pc(')');
const P_LBRACK = pc('[');
const P_RBRACK = pc(']');
const P_LBRACE = pc('{');
const P_RBRACE = pc('}');
const P_COMMA = pc(',');
const P_DOT = pc('.');
const P_QDOT = pc('?.');
const P_AT = pc('@');
const P_EQ = pc('=');
const P_COLON = pc(':');
const P_SEMI = pc(';');
const P_STAR = pc('*');
const P_DSTAR = pc('**');
const P_SPREAD = pc('...');
const P_PLUS = pc('+');
const P_LT = pc('<');
const P_GT = pc('>');

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

/** The token list. `p` is the punctuation code; `cs`/`ce` the content range of a string; `f` its flags. */
class Tokens {
  n = 0;
  k: Uint8Array;
  s: Int32Array;
  e: Int32Array;
  line: Int32Array;
  col: Int32Array;
  p: Int32Array;
  cs: Int32Array;
  ce: Int32Array;
  f: Uint8Array;

  constructor(cap: number) {
    this.k = new Uint8Array(cap);
    this.s = new Int32Array(cap);
    this.e = new Int32Array(cap);
    this.line = new Int32Array(cap);
    this.col = new Int32Array(cap);
    this.p = new Int32Array(cap);
    this.cs = new Int32Array(cap);
    this.ce = new Int32Array(cap);
    this.f = new Uint8Array(cap);
  }

  private grow(): void {
    const cap = this.k.length * 2;
    const g = <T extends Uint8Array | Int32Array>(a: T, make: (n: number) => T): T => {
      const b = make(cap);
      b.set(a);
      return b;
    };
    this.k = g(this.k, (n) => new Uint8Array(n));
    this.f = g(this.f, (n) => new Uint8Array(n));
    this.s = g(this.s, (n) => new Int32Array(n));
    this.e = g(this.e, (n) => new Int32Array(n));
    this.line = g(this.line, (n) => new Int32Array(n));
    this.col = g(this.col, (n) => new Int32Array(n));
    this.p = g(this.p, (n) => new Int32Array(n));
    this.cs = g(this.cs, (n) => new Int32Array(n));
    this.ce = g(this.ce, (n) => new Int32Array(n));
  }

  push(k: number, s: number, e: number, line: number, col: number, p: number): number {
    if (this.n === this.k.length) this.grow();
    const i = this.n++;
    this.k[i] = k;
    this.s[i] = s;
    this.e[i] = e;
    this.line[i] = line;
    this.col[i] = col;
    this.p[i] = p;
    return i;
  }
}

/** The shared scanner state: position, line bookkeeping and the token list. */
class Scanner {
  readonly t: Tokens;
  i = 0;
  line = 1;
  /** Offset of the first character of the current line. */
  ls = 0;
  readonly n: number;

  constructor(readonly src: string) {
    this.n = src.length;
    this.t = new Tokens(Math.max(64, src.length >> 2));
  }

  newline(at: number): void {
    this.line++;
    this.ls = at + 1;
  }

  ident(): void {
    const { src, n } = this;
    const s = this.i;
    let j = s + 1;
    while (j < n && isIdentPart(src.charCodeAt(j))) j++;
    this.t.push(IDENT, s, j, this.line, s - this.ls + 1, 0);
    this.i = j;
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
    this.t.push(NUM, s, j, this.line, s - this.ls + 1, 0);
    this.i = j;
  }

  punct(): void {
    const src = this.src;
    const s = this.i;
    const c1 = src.charCodeAt(s + 1);
    if (c1 < 128 && OP_CHAR[c1]) {
      const c2 = src.charCodeAt(s + 2);
      if (c2 < 128 && OP_CHAR[c2]) {
        const code = OP_CODE.get(src.slice(s, s + 3));
        if (code !== undefined) {
          this.t.push(PUNCT, s, s + 3, this.line, s - this.ls + 1, code);
          this.i = s + 3;
          return;
        }
      }
      const code = OP_CODE.get(src.slice(s, s + 2));
      // `a?.5:b` is a conditional, not optional chaining.
      if (code !== undefined && !(code === P_QDOT && isDigit(c2))) {
        this.t.push(PUNCT, s, s + 2, this.line, s - this.ls + 1, code);
        this.i = s + 2;
        return;
      }
    }
    this.t.push(PUNCT, s, s + 1, this.line, s - this.ls + 1, src.charCodeAt(s));
    this.i = s + 1;
  }

  skipLine(): void {
    const j = this.src.indexOf('\n', this.i);
    this.i = j < 0 ? this.n : j;
  }

  str(s: number, line: number, col: number, cs: number, ce: number, flags: number): void {
    const x = this.t.push(STR, s, this.i, line, col, 0);
    this.t.cs[x] = cs;
    this.t.ce[x] = Math.max(cs, ce);
    this.t.f[x] = flags;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Python

const PY_PREFIXES = new Set(['r', 'u', 'b', 'f', 't', 'br', 'rb', 'fr', 'rf', 'tr', 'rt']);

/** The string prefix ending at `j` (a quote follows), lower-cased, or undefined when `i..j` is not one. */
function pyPrefix(src: string, i: number, j: number): string | undefined {
  const q = src.charCodeAt(j);
  if ((q !== 34 && q !== 39) || j - i > 2) return undefined;
  const p = src.slice(i, j).toLowerCase();
  return PY_PREFIXES.has(p) ? p : undefined;
}

class PyScanner extends Scanner {
  run(): Tokens {
    const { src, n } = this;
    while (this.i < n) {
      const i = this.i;
      const c = src.charCodeAt(i);
      if (c === 10) {
        this.newline(i);
        this.i++;
      } else if (c === 32 || isSpace(c) || c === 92) this.i++; // `\` is a line continuation
      else if (c === 35) this.skipLine();
      else if (isIdentStart(c)) {
        let j = i + 1;
        while (j < n && isIdentPart(src.charCodeAt(j))) j++;
        const p = pyPrefix(src, i, j);
        if (p !== undefined) {
          const line = this.line;
          const col = i - this.ls + 1;
          this.i = j;
          this.string(i, line, col, p.includes('r'), p.includes('f') || p.includes('t'), 0);
        } else {
          this.t.push(IDENT, i, j, this.line, i - this.ls + 1, 0);
          this.i = j;
        }
      } else if (c === 34 || c === 39) this.string(i, this.line, i - this.ls + 1, false, false, 0);
      else if (isDigit(c) || (c === 46 && isDigit(src.charCodeAt(i + 1)))) this.number();
      else this.punct();
    }
    return this.t;
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
    if (nest === 0) this.str(start, line, col, cs, ce, (raw ? S_RAW : fmt ? S_FMT : 0) | (dyn ? S_DYN : 0));
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
        const p = pyPrefix(src, i, j);
        this.i = j;
        if (p !== undefined && nest < MAX_NEST) this.string(i, 0, 0, p.includes('r'), p.includes('f') || p.includes('t'), nest + 1);
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
  run(): Tokens {
    const { src, n } = this;
    if (src.startsWith('#!')) this.skipLine();
    while (this.i < n) {
      const i = this.i;
      const c = src.charCodeAt(i);
      if (c === 10) {
        this.newline(i);
        this.i++;
      } else if (c === 32 || isSpace(c)) this.i++;
      else if (isIdentStart(c) || c === 35) this.ident();
      else if (c === 47) {
        const c1 = src.charCodeAt(i + 1);
        if (c1 === 47) this.skipLine();
        else if (c1 === 42) this.blockComment();
        else if (this.regexAllowed()) this.regex();
        else this.punct();
      } else if (c === 34 || c === 39) this.quoted(true);
      else if (c === 96) this.template(true, 0);
      else if (isDigit(c) || (c === 46 && isDigit(src.charCodeAt(i + 1)))) this.number();
      else this.punct();
    }
    return this.t;
  }

  blockComment(): void {
    const { src, n } = this;
    const end = src.indexOf('*/', this.i + 2);
    const stop = end < 0 ? n : end + 2;
    for (let j = src.indexOf('\n', this.i); j >= 0 && j < stop; j = src.indexOf('\n', j + 1)) this.newline(j);
    this.i = stop;
  }

  regexAllowed(): boolean {
    const t = this.t;
    const prev = t.n - 1;
    if (prev < 0) return true;
    if (t.k[prev] === PUNCT) return t.p[prev] !== P_RPAREN && t.p[prev] !== P_RBRACK;
    if (t.k[prev] === IDENT) return JS_REGEX_AFTER.has(this.src.slice(t.s[prev], t.e[prev]));
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
    this.t.push(OTHER, s, j, this.line, s - this.ls + 1, 0);
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
    if (emit) this.str(s, line, col, s + 1, ce, 0);
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
    if (emit) this.str(s, line, col, s + 1, ce, S_TPL | (dyn ? S_DYN : 0));
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

/** The value of literal string token `i` (escapes decoded; `{{` in f-strings; raw strings kept as written). */
function stringValue(src: string, t: Tokens, i: number): string {
  const body = src.slice(t.cs[i], t.ce[i]);
  const kind = t.f[i] & S_KIND;
  if (kind === S_RAW) return body;
  let out = body.includes('\\') ? decodeEscapes(body) : body;
  if (kind === S_FMT) out = out.replace(/\{\{/g, '{').replace(/\}\}/g, '}');
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

/** Specs by the last segment of their name, and those names by their first character code. */
interface SpecIndex {
  /** Matches text that may hold a call: any of the names (a quick test before tokenizing). */
  anyName: RegExp | undefined;
  byFirst: Map<number, { name: string; specs: CompiledSpec[] }[]>;
}

const NAME_RE = /^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*$/;
const DIM_SET = new Set<string>(SITE_TAG_DIMS);
/** Compiled specs per wrapper array, with the entries they were built from (a changed array is recompiled). */
const indexCache = new WeakMap<readonly WrapperSpec[], { from: WrapperSpec[]; index: SpecIndex }>();

function compile(wrappers: readonly WrapperSpec[]): SpecIndex {
  const cached = indexCache.get(wrappers);
  if (cached && cached.from.length === wrappers.length && cached.from.every((w, i) => w === wrappers[i])) return cached.index;
  // A later spec with the same name replaces an earlier one (user entries appended to the defaults override them).
  const latest = new Map<string, WrapperSpec>();
  for (const spec of wrappers) {
    if (spec && typeof spec.name === 'string' && NAME_RE.test(spec.name)) latest.set(spec.name, spec);
  }
  const byName = new Map<string, CompiledSpec[]>();
  for (const spec of latest.values()) {
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
    const list = byName.get(last) ?? [];
    list.push({ spec, receiver: segs.slice(0, -1), keywords, positional, objectArgs });
    byName.set(last, list);
  }
  const byFirst: SpecIndex['byFirst'] = new Map();
  for (const [name, specs] of byName) {
    // The most specific receiver is tried first.
    specs.sort((a, b) => b.receiver.length - a.receiver.length);
    const c = name.charCodeAt(0);
    const list = byFirst.get(c) ?? [];
    list.push({ name, specs });
    byFirst.set(c, list);
  }
  // A name that contains another one needs no test of its own.
  const names = [...byName.keys()];
  const minimal = names.filter((a) => !names.some((b) => b !== a && a.includes(b)));
  const anyName = minimal.length ? new RegExp(minimal.map((n) => n.replace(/\$/g, '\\$')).join('|')) : undefined;
  const index: SpecIndex = { anyName, byFirst };
  indexCache.set(wrappers, { from: [...wrappers], index });
  return index;
}

/**
 * Finds the calls of `wrappers` in a source text, with the literal tags they pass and the tags they pass as
 * non-literals. Definitions of a wrapper (`def traced_call(`, `function measureLLM(`, a method `measureLLM(x) {`)
 * are not calls. Never throws: bad or unterminated input yields the sites found so far.
 * A spec later in `wrappers` replaces an earlier one with the same name, so `[...DEFAULT_WRAPPERS, ...user]` lets
 * the user's entries override the defaults.
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
  if (!index.anyName?.test(text)) return [];
  const py = language === 'python';
  const out: CallSiteMatch[] = [];
  try {
    const t = py ? new PyScanner(text).run() : new JsScanner(text).run();
    const m = new Matcher(text, t, py, language === 'typescript');
    const { k, s, e } = t;
    for (let i = 0; i < t.n; i++) {
      if (k[i] !== IDENT) continue;
      const list = index.byFirst.get(text.charCodeAt(s[i]));
      if (list === undefined) continue;
      const len = e[i] - s[i];
      for (const c of list) {
        if (c.name.length !== len || !text.startsWith(c.name, s[i])) continue;
        const site = m.matchAt(i, c.specs);
        if (site) out.push(site);
        break;
      }
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
const METHOD_BEFORE = new Set([P_LBRACE, P_RBRACE, P_SEMI, P_COMMA, P_RPAREN, P_STAR]);
const MAX_OBJECT_DEPTH = 4;

type Value =
  | { kind: 'none' }
  | { kind: 'lit'; text: string }
  | { kind: 'dyn' }
  | { kind: 'obj'; entries: { key: string; a: number; b: number }[] };

const NONE: Value = { kind: 'none' };
const DYN: Value = { kind: 'dyn' };

class Matcher {
  constructor(readonly src: string, readonly t: Tokens, readonly py: boolean, readonly ts: boolean) {}

  /** Token `i` is the punctuation with code `code`. */
  is(i: number, code: number): boolean {
    return i >= 0 && i < this.t.n && this.t.k[i] === PUNCT && this.t.p[i] === code;
  }

  isIdent(i: number): boolean {
    return i >= 0 && i < this.t.n && this.t.k[i] === IDENT;
  }

  text(i: number): string {
    return this.src.slice(this.t.s[i], this.t.e[i]);
  }

  isOpen(i: number): boolean {
    const p = this.t.p[i];
    return this.t.k[i] === PUNCT && (p === P_LPAREN || p === P_LBRACK || p === P_LBRACE);
  }

  isClose(i: number): boolean {
    const p = this.t.p[i];
    return this.t.k[i] === PUNCT && (p === P_RPAREN || p === P_RBRACK || p === P_RBRACE);
  }

  matchAt(i: number, specs: CompiledSpec[]): CallSiteMatch | undefined {
    const t = this.t;
    // Receiver chain: a.b?.name
    const chain: string[] = [];
    let j = i;
    while ((this.is(j - 1, P_DOT) || this.is(j - 1, P_QDOT)) && this.isIdent(j - 2)) {
      chain.unshift(this.text(j - 2));
      j -= 2;
    }
    const hasReceiver = j < i || this.is(j - 1, P_DOT) || this.is(j - 1, P_QDOT);
    const cs = specs.find((c) => c.receiver.length <= chain.length &&
      c.receiver.every((seg, x) => seg === chain[chain.length - c.receiver.length + x]));
    if (!cs) return undefined;
    const before = j - 1;
    if (!hasReceiver && this.isIdent(before)) {
      const word = this.text(before);
      if (this.py ? PY_DEF.has(word) : JS_DEF.has(word)) return undefined;
    }
    if (!this.py && !hasReceiver && this.is(before, P_STAR) && this.isIdent(before - 1) && this.text(before - 1) === 'function') return undefined;
    const decorator = this.is(before, P_AT) && (!this.py || this.startsLine(before));

    let k = i + 1;
    if (!this.py && this.is(k, P_QDOT) && this.is(k + 1, P_LPAREN)) k++;
    if (this.ts && this.is(k, P_LT)) k = this.skipTypeArgs(k);
    const site: CallSiteMatch = { wrapper: cs.spec.name, line: t.line[i], column: t.col[i], endLine: t.line[i], tags: {}, dynamic: [] };
    if (!this.is(k, P_LPAREN)) {
      if (!decorator) return undefined;
      this.decorated(site, i + 1);
      return site;
    }
    const { close, args } = this.args(k);
    site.endLine = t.line[Math.min(close, t.n - 1)];
    // A method definition or signature: `measureLLM(x) {` / `measureLLM(x): T;` (not `c ? measureLLM(x) : y`).
    if (!this.py && !hasReceiver && !decorator && close < t.n) {
      if (this.is(close + 1, P_LBRACE)) return undefined;
      if (this.ts && this.is(close + 1, P_COLON) && (before < 0 ||
        (t.k[before] === PUNCT && METHOD_BEFORE.has(t.p[before])) || (this.isIdent(before) && MODIFIERS.has(this.text(before))))) {
        return undefined;
      }
    }
    this.readTags(site, cs, args);
    if (decorator) this.decorated(site, close + 1);
    return site;
  }

  /** True when the token is the first on its line (a Python decorator, not matrix multiplication). */
  startsLine(at: number): boolean {
    return at === 0 || this.src.lastIndexOf('\n', this.t.s[at]) >= this.t.e[at - 1];
  }

  /** From a `<` after a name, the index after the matching `>` when a `(` follows; otherwise `k` unchanged. */
  skipTypeArgs(k: number): number {
    const t = this.t;
    let depth = 0;
    for (let m = k; m < t.n && m < k + 256; m++) {
      if (t.k[m] !== PUNCT) continue;
      const p = t.p[m];
      if (p === P_LT) depth++;
      else if (p === P_GT) {
        depth--;
        if (depth === 0) return this.is(m + 1, P_LPAREN) ? m + 1 : k;
      } else if (p === P_SEMI) return k;
    }
    return k;
  }

  /** Splits the arguments of the call whose `(` is at `open`: token ranges [a, b) at depth 0. */
  args(open: number): { close: number; args: [number, number][] } {
    const t = this.t;
    const args: [number, number][] = [];
    let depth = 0;
    let a = open + 1;
    let m = open + 1;
    for (; m < t.n; m++) {
      if (t.k[m] !== PUNCT) continue;
      if (this.isOpen(m)) depth++;
      else if (this.isClose(m)) {
        if (depth === 0) break;
        depth--;
      } else if (depth === 0 && t.p[m] === P_COMMA) {
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
      if (this.is(a, P_STAR) || this.is(a, P_SPREAD)) {
        pos = -1; // positions after a spread are unknown
        continue;
      }
      if (this.is(a, P_DSTAR)) continue;
      if (this.py && this.isIdent(a) && this.is(a + 1, P_EQ)) {
        const key = this.text(a);
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
    const t = this.t;
    // Strip `as const` / `satisfies T` and whole-expression parentheses.
    for (let guard = 0; guard < 64 && a < b; guard++) {
      if (!this.py && b - a >= 3 && this.isIdent(b - 2) && this.isIdent(b - 1) && ['as', 'satisfies'].includes(this.text(b - 2))) {
        b -= 2;
      } else if (this.is(a, P_LPAREN) && this.is(b - 1, P_RPAREN) && this.matching(a) === b - 1) {
        a++;
        b--;
      } else break;
    }
    if (a >= b) return NONE;
    const k = t.k[a];
    if (b - a === 1) {
      if (k === STR) return t.f[a] & S_DYN ? DYN : { kind: 'lit', text: stringValue(this.src, t, a) };
      if (k === NUM) return { kind: 'lit', text: this.text(a) };
      if (k === IDENT) {
        const word = this.text(a);
        if (NULLISH.has(word)) return NONE;
        if (BOOLEANS.has(word)) return { kind: 'lit', text: word };
      }
      return DYN;
    }
    if (k === STR) {
      // Adjacent strings (Python) or strings joined by `+`.
      let text = '';
      let dyn = false;
      let expectStr = true;
      for (let m = a; m < b; m++) {
        if (t.k[m] === STR) {
          if (!expectStr && !this.py) return DYN;
          if (t.f[m] & S_DYN) dyn = true;
          else text += stringValue(this.src, t, m);
          expectStr = false;
        } else if (!expectStr && this.is(m, P_PLUS)) expectStr = true;
        else return DYN;
      }
      if (expectStr) return DYN;
      return dyn ? DYN : { kind: 'lit', text };
    }
    if (this.is(a, P_LBRACE) && this.matching(a) === b - 1) return this.object(a, b - 1);
    if (this.py && k === IDENT && this.is(a + 1, P_LPAREN) && this.text(a) === 'dict' && this.matching(a + 1) === b - 1) {
      return this.dictCall(a + 1);
    }
    return DYN;
  }

  /** The index of the bracket that closes the one at `open` (or the token count). */
  matching(open: number): number {
    const t = this.t;
    let depth = 0;
    for (let m = open; m < t.n; m++) {
      if (t.k[m] !== PUNCT) continue;
      if (this.isOpen(m)) depth++;
      else if (this.isClose(m)) {
        depth--;
        if (depth === 0) return m;
      }
    }
    return t.n;
  }

  /** Entries of a dict/object literal between `{` at `open` and `}` at `close`. */
  object(open: number, close: number): Value {
    const t = this.t;
    const entries: { key: string; a: number; b: number }[] = [];
    const flush = (a: number, b: number) => {
      if (a >= b) return;
      let colon = -1;
      let d = 0;
      for (let m = a; m < b; m++) {
        if (t.k[m] !== PUNCT) continue;
        if (this.isOpen(m)) d++;
        else if (this.isClose(m)) d--;
        else if (d === 0 && t.p[m] === P_COLON) {
          colon = m;
          break;
        }
      }
      if (colon < 0) {
        // `{ feature }` shorthand: the value is a variable.
        if (!this.py && b - a === 1 && t.k[a] === IDENT) entries.push({ key: this.text(a), a, b });
        return;
      }
      if (colon !== a + 1) return;
      let key: string | undefined;
      if (t.k[a] === STR && !(t.f[a] & S_DYN)) key = stringValue(this.src, t, a);
      else if (!this.py && (t.k[a] === IDENT || t.k[a] === NUM)) key = this.text(a);
      if (key !== undefined) entries.push({ key, a: colon + 1, b });
    };
    let depth = 0;
    let a = open + 1;
    for (let m = open + 1; m < close; m++) {
      if (t.k[m] !== PUNCT) continue;
      if (this.isOpen(m)) depth++;
      else if (this.isClose(m)) depth--;
      else if (depth === 0 && t.p[m] === P_COMMA) {
        flush(a, m);
        a = m + 1;
      }
    }
    flush(a, close);
    return { kind: 'obj', entries };
  }

  /** Python `dict(feature="x", …)` read as an object. */
  dictCall(open: number): Value {
    const { args } = this.args(open);
    const entries: { key: string; a: number; b: number }[] = [];
    for (const [a, b] of args) {
      if (b - a >= 2 && this.isIdent(a) && this.is(a + 1, P_EQ)) entries.push({ key: this.text(a), a: a + 2, b });
    }
    return { kind: 'obj', entries };
  }

  /** Sets the decorated function: skips further decorators and modifiers up to `def name` / `function name` / `name(`. */
  decorated(site: CallSiteMatch, from: number): void {
    const t = this.t;
    let k = from;
    for (let guard = 0; guard < 64 && k < t.n; guard++) {
      if (this.is(k, P_AT)) {
        k++;
        while (this.isIdent(k) && (this.is(k + 1, P_DOT) || this.is(k + 1, P_QDOT))) k += 2;
        if (this.isIdent(k)) k++;
        if (this.is(k, P_LPAREN)) k = this.matching(k) + 1;
        continue;
      }
      if (this.is(k, P_STAR)) {
        k++;
        continue;
      }
      if (!this.isIdent(k)) return;
      const word = this.text(k);
      if (word === 'def' || word === 'function' || word === 'class') {
        let n = k + 1;
        if (this.is(n, P_STAR)) n++;
        if (this.isIdent(n)) {
          site.decoratedFunction = this.text(n);
          site.decoratedLine = t.line[n];
        }
        return;
      }
      if (MODIFIERS.has(word) && this.isIdent(k + 1)) {
        k++;
        continue;
      }
      if (!this.py && (this.is(k + 1, P_LPAREN) || this.is(k + 1, P_LT) || this.is(k + 1, P_EQ) || this.is(k + 1, P_COLON))) {
        site.decoratedFunction = word;
        site.decoratedLine = t.line[k];
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
