import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  type CallSiteMatch,
  DEFAULT_TAG_KEYWORDS,
  DEFAULT_WRAPPERS,
  findCallSites,
  parseWrapperSetting,
  type WrapperSpec,
} from '../../../src/core/callSites';
import { fixture } from '../helpers';

const read = (name: string) => readFileSync(fixture('callsites', name), 'utf8');
/** The fields the tests compare, in a stable shape. */
const brief = (s: CallSiteMatch) => {
  const o: Record<string, unknown> = { wrapper: s.wrapper, line: s.line, column: s.column, endLine: s.endLine, tags: s.tags, dynamic: s.dynamic };
  if (s.decoratedFunction !== undefined) o.decoratedFunction = s.decoratedFunction;
  return o;
};
const py = (text: string, w?: WrapperSpec[]) => findCallSites(text, 'python', w).map(brief);
const ts = (text: string, w?: WrapperSpec[]) => findCallSites(text, 'typescript', w).map(brief);

describe('findCallSites', () => {
  describe('default wrapper shapes', () => {
    it('finds the seven Python sites of app.py with their lines, columns and tags', () => {
      assert.deepEqual(py(read('app.py')), [
        { wrapper: 'traced_call', line: 6, column: 12, endLine: 6, tags: { feature: 'summarization', model: 'claude-sonnet-4-6' }, dynamic: ['user'] },
        { wrapper: 'tracer.start_run', line: 10, column: 18, endLine: 10, tags: { feature: 'search', template: 'v2.1' }, dynamic: [] },
        { wrapper: 'tracer.trace', line: 15, column: 17, endLine: 15, tags: { feature: 'upload' }, dynamic: [] },
        { wrapper: 'track_llm_call', line: 19, column: 2, endLine: 19, tags: { agent: 'customer-support-v2' }, dynamic: [], decoratedFunction: 'handle' },
        { wrapper: 'track_llm_call', line: 24, column: 2, endLine: 24, tags: { agent: 'triage', model: 'gpt-4.1-mini' }, dynamic: [], decoratedFunction: 'triage' },
        { wrapper: 'traced_call', line: 30, column: 12, endLine: 34, tags: { feature: 'multi-line', model: 'gpt-4o' }, dynamic: ['user'] },
        { wrapper: 'tracer.start_run', line: 38, column: 26, endLine: 38, tags: { feature: 'chained' }, dynamic: [] },
      ]);
    });

    it('reports the line of the decorated def, async or not', () => {
      const sites = findCallSites(read('app.py'), 'python').filter((s) => s.decoratedFunction);
      assert.deepEqual(sites.map((s) => [s.decoratedFunction, s.line, s.decoratedLine]), [['handle', 19, 20], ['triage', 24, 25]]);
    });

    it('finds positional, object-literal, nested-metadata and type-argument calls in app.ts', () => {
      assert.deepEqual(ts(read('app.ts.txt')), [
        { wrapper: 'interceptCompletion', line: 4, column: 10, endLine: 4, tags: { feature: 'code-review' }, dynamic: [] },
        { wrapper: 'measureLLM', line: 8, column: 10, endLine: 8, tags: { feature: 'summarize', model: 'gpt-4.1-mini' }, dynamic: [] },
        { wrapper: 'tracedCall', line: 11, column: 38, endLine: 11, tags: { feature: 'chat', model: 'gpt-4o' }, dynamic: [] },
        { wrapper: 'withTrace', line: 14, column: 10, endLine: 16, tags: { feature: 'x' }, dynamic: ['user'] },
        { wrapper: 'measureLLM', line: 15, column: 12, endLine: 15, tags: { feature: 'inner', model: 'gpt-4o-mini' }, dynamic: [] },
        { wrapper: 'measureLLM', line: 20, column: 10, endLine: 20, tags: { feature: 'typed' }, dynamic: ['model'] },
      ]);
    });

    it('finds the two sites of app.js and marks a variable model as dynamic', () => {
      assert.deepEqual(findCallSites(read('app.js'), 'javascript').map(brief), [
        { wrapper: 'interceptCompletion', line: 4, column: 10, endLine: 4, tags: { feature: 'code-review' }, dynamic: [] },
        { wrapper: 'measureLLM', line: 8, column: 19, endLine: 8, tags: { feature: 'summarize' }, dynamic: ['model'] },
      ]);
    });

    it('reads every tag alias of the defaults', () => {
      for (const [key, dim] of Object.entries(DEFAULT_TAG_KEYWORDS)) {
        assert.deepEqual(py(`traced_call(${key}="v")`)[0].tags, { [dim]: 'v' }, key);
        assert.deepEqual(ts(`tracedCall({ ${key}: 'v' })`)[0].tags, { [dim]: 'v' }, key);
      }
    });
  });

  describe('tricky Python (tricky.py)', () => {
    const sites = py(read('tricky.py'));

    it('ignores the name in comments, docstrings, strings, raw, triple-quoted and f-strings, and the def and class', () => {
      assert.deepEqual(sites.map((s) => s.line), [18, 19, 20, 20, 21, 27, 28, 29]);
    });

    it('marks an f-string with a field as dynamic and reads a raw f-string without one as written', () => {
      assert.deepEqual(sites[0], { wrapper: 'traced_call', line: 18, column: 5, endLine: 18, tags: { user: 'u-1', model: 'raw\\model' }, dynamic: ['feature'] });
    });

    it('reads an f-string with only {{ }} escapes as a literal and decodes escaped quotes', () => {
      assert.deepEqual(sites[1].tags, { feature: 'plain-{braces}', tool: 'say "hi" (ok)' });
      assert.deepEqual(sites[1].dynamic, []);
    });

    it('finds a wrapper call nested in the arguments of another, each with its own tags', () => {
      assert.deepEqual(sites[2], { wrapper: 'traced_call', line: 20, column: 5, endLine: 20, tags: { feature: 'outer' }, dynamic: ['model'] });
      assert.deepEqual(sites[3], { wrapper: 'traced_call', line: 20, column: 45, endLine: 20, tags: { feature: 'inner' }, dynamic: [] });
    });

    it('spans lines past comments with brackets, joins adjacent strings and skips None', () => {
      assert.deepEqual(sites[4], { wrapper: 'traced_call', line: 21, column: 5, endLine: 26, tags: { feature: 'after-comment', template: 'v3' }, dynamic: [] });
    });

    it('treats @ after an expression as matrix multiplication, not a decorator', () => {
      assert.deepEqual(sites[5], { wrapper: 'traced_call', line: 27, column: 14, endLine: 27, tags: { feature: 'matmul' }, dynamic: [] });
    });

    it('reads metadata=dict(...) keys and marks a subscript as dynamic', () => {
      assert.deepEqual(sites[6].tags, { feature: 'from-dict' });
      assert.deepEqual(sites[6].dynamic, ['agent']);
    });

    it('keeps an unterminated last call, ending at the last line', () => {
      assert.deepEqual(sites[7], { wrapper: 'traced_call', line: 29, column: 5, endLine: 29, tags: { feature: 'unterminated', model: 'x' }, dynamic: [] });
    });
  });

  describe('tricky TypeScript (tricky.ts.txt)', () => {
    const sites = ts(read('tricky.ts.txt'));

    it('ignores comments, strings, template text, regex literals and definitions (function, export function, const =, methods, signatures)', () => {
      assert.deepEqual(sites.map((s) => s.line), [17, 18, 19, 20, 21, 26, 27, 28]);
    });

    it('reads a template literal without ${} as a literal and one with ${} as dynamic', () => {
      assert.deepEqual(sites[0], { wrapper: 'measureLLM', line: 17, column: 12, endLine: 17, tags: { feature: 'literal-template' }, dynamic: ['model'] });
    });

    it('skips nested templates inside ${}', () => {
      assert.deepEqual(sites[1], { wrapper: 'measureLLM', line: 18, column: 12, endLine: 18, tags: { model: 'claude-haiku-4-5' }, dynamic: ['feature'] });
    });

    it('finds a call in a conditional and an optional call on a method chain with `as const`', () => {
      assert.deepEqual(sites[2], { wrapper: 'measureLLM', line: 19, column: 17, endLine: 19, tags: { feature: 'ternary', model: 'm' }, dynamic: [] });
      assert.deepEqual(sites[3], { wrapper: 'measureLLM', line: 20, column: 27, endLine: 20, tags: { feature: 'optional', model: 'm' }, dynamic: [] });
    });

    it('spans lines, joins string concatenation and reads the model from a params object literal', () => {
      assert.deepEqual(sites[4], { wrapper: 'interceptCompletion', line: 21, column: 12, endLine: 25, tags: { feature: 'multi-line', model: 'gpt-4o' }, dynamic: [] });
    });

    it('reads no positions after a spread, and skips computed keys and spreads in objects', () => {
      assert.deepEqual(sites[5].tags, {});
      assert.deepEqual(sites[6], { wrapper: 'tracedCall', line: 27, column: 12, endLine: 27, tags: { tool: 'search' }, dynamic: ['feature'] });
    });

    it('keeps an unterminated last call whose template never closes', () => {
      assert.deepEqual(sites[7], { wrapper: 'measureLLM', line: 28, column: 12, endLine: 28, tags: { feature: 'unterminated' }, dynamic: ['model'] });
    });
  });

  describe('definitions are not sites', () => {
    it('skips def, class, function, function*, export function, const = and method shorthand', () => {
      assert.deepEqual(py('def traced_call(feature="x"):\n    pass\nasync def traced_call(feature="y"):\n    pass\nclass traced_call(Base):\n    pass'), []);
      const js = [
        'function measureLLM(feature, model, fn) { return fn(); }',
        'function* measureLLM(a) {}',
        'export function interceptCompletion(feature: string, id: string): void;',
        'export async function interceptCompletion(feature: string) {}',
        'const measureLLM = (feature: string, model: string) => 1;',
        'let measureLLM = function (f) {};',
        'const o = { measureLLM(feature) { return 1; }, withTrace: (x) => x };',
        'interface I { measureLLM(feature: string): Promise<void>; }',
        'class C { async measureLLM(f: string): Promise<void> {} }',
      ];
      assert.deepEqual(ts(js.join('\n')), []);
      const plainJs = js.slice(0, 7).map((l) => l.replace(/: [A-Za-z<>]+/g, '')).join('\n');
      assert.deepEqual(findCallSites(plainJs, 'javascript'), []);
    });

    it('still finds calls next to the definitions', () => {
      const text = 'function measureLLM(f, m, fn) { return fn(); }\nmeasureLLM("a", "b", go);\nconst x = cond ? measureLLM("c", "d", go) : null;';
      assert.deepEqual(findCallSites(text, 'javascript').map((s) => [s.line, s.tags.feature]), [[2, 'a'], [3, 'c']]);
    });
  });

  describe('receivers and decorators', () => {
    it('matches a receiver spec on any chain that ends with it, and not on other receivers', () => {
      const text = [
        'self.tracer.start_run(metadata={"feature": "a"})',
        'other.start_run(metadata={"feature": "b"})',
        'get_tracer().start_run(metadata={"feature": "c"})',
        'start_run(metadata={"feature": "d"})',
        'tracer . start_run(metadata={"feature": "e"})',
      ].join('\n');
      assert.deepEqual(findCallSites(text, 'python').map((s) => s.tags.feature), ['a', 'e']);
    });

    it('matches a spec without receiver on any receiver', () => {
      const sites = findCallSites('app.traced_call(feature="a")\nx.y.traced_call(feature="b")', 'python');
      assert.deepEqual(sites.map((s) => [s.line, s.column, s.tags.feature]), [[1, 5, 'a'], [2, 5, 'b']]);
    });

    it('reports a bare decorator and skips stacked decorators to the def', () => {
      const text = '@track_llm_call\n@app.route("/x", methods=["POST"])\n@other\nasync def serve(req):\n    pass\n';
      const [site] = findCallSites(text, 'python');
      assert.deepEqual([site.line, site.endLine, site.decoratedFunction, site.decoratedLine, site.tags], [1, 1, 'serve', 4, {}]);
    });

    it('reports a TypeScript method decorator with its method name', () => {
      const text = 'class Bot {\n  @track_llm_call({ agent_id: "bot", model: "gpt-4o" })\n  public async reply(msg: string) {}\n}';
      assert.deepEqual(findCallSites(text, 'typescript').map((s) => [s.line, s.column, s.decoratedFunction, s.decoratedLine, s.tags]), [
        [2, 4, 'reply', 3, { agent: 'bot', model: 'gpt-4o' }],
      ]);
    });

    it('does not report a name that is only referenced, imported or assigned', () => {
      assert.deepEqual(py('from t import traced_call\nf = traced_call\npartial(traced_call, feature="x")'), []);
      assert.deepEqual(ts('import { measureLLM } from "./t";\nexport { measureLLM };\nconst m = measureLLM;'), []);
    });
  });

  describe('tags', () => {
    it('lets a direct argument win over the same tag in metadata, and keeps each tag in tags or dynamic, not both', () => {
      const [s] = py('traced_call(model=m, metadata={"model": "gpt-4o", "feature": "f"}, feature="direct")');
      assert.deepEqual(s.tags, { feature: 'direct' });
      assert.deepEqual(s.dynamic, ['model']);
    });

    it('reads numbers as literals and marks calls, attributes and conditionals as dynamic', () => {
      const [s] = py('traced_call(template_version=3, feature=name(), user_id=u.id, model="a" if x else "b")');
      assert.deepEqual(s.tags, { template: '3' });
      assert.deepEqual(s.dynamic, ['feature', 'user', 'model']);
    });

    it('reads unicode escapes and keeps non-ASCII text', () => {
      assert.deepEqual(ts('measureLLM("caf\\u00e9", "résumé-ü", f)')[0].tags, { feature: 'café', model: 'résumé-ü' });
    });

    it('lets a later spec with the same name replace an earlier one, so user settings override the defaults', () => {
      const wrappers: WrapperSpec[] = [...DEFAULT_WRAPPERS, { name: 'measureLLM', positional: { 0: 'tool' } }];
      assert.deepEqual(findCallSites('measureLLM("search", "gpt-4o", fn)', 'typescript', wrappers)[0].tags, { tool: 'search' });
      assert.deepEqual(findCallSites('measureLLM("search", "gpt-4o", fn)', 'typescript')[0].tags, { feature: 'search', model: 'gpt-4o' });
    });

    it('applies custom positional and keyword specs', () => {
      const wrappers: WrapperSpec[] = [{ name: 'llm.ask', positional: { 1: 'tool' }, keywords: { tenant: 'user' }, objectArgs: ['opts'] }];
      const text = 'llm.ask(prompt, "search", opts={"tenant": "acme"})\nask(prompt, "x")';
      assert.deepEqual(py(text, wrappers), [{ wrapper: 'llm.ask', line: 1, column: 5, endLine: 1, tags: { user: 'acme', tool: 'search' }, dynamic: [] }]);
    });
  });

  describe('robustness', () => {
    it('counts lines the same with CRLF line ends and backslash continuations', () => {
      const text = 'x = 1 + \\\r\n    2\r\ns = "a\\\r\nb"\r\ntraced_call(\r\n  feature="crlf",\r\n)\r\n';
      assert.deepEqual(py(text), [{ wrapper: 'traced_call', line: 5, column: 1, endLine: 7, tags: { feature: 'crlf' }, dynamic: [] }]);
    });

    it('returns nothing for empty text, no wrappers, an unknown language or input that is not text', () => {
      assert.deepEqual(findCallSites('', 'python'), []);
      assert.deepEqual(findCallSites('traced_call(feature="x")', 'python', []), []);
      assert.deepEqual(findCallSites('traced_call(feature="x")', 'ruby' as never), []);
      assert.deepEqual(findCallSites(undefined as never, 'python'), []);
      assert.deepEqual(findCallSites('traced_call(feature="x")', 'python', [{ name: '' }, null as never, { name: 'a b' }]), []);
    });

    it('ends on unterminated strings, comments, templates, regexes and calls without throwing', () => {
      const pyInputs = ['traced_call(', 'traced_call(feature="', "'''traced_call(", 'f"{traced_call(', 'traced_call(metadata={"feature": ', '@track_llm_call(', '@', 'x = rf"\\'];
      for (const t of pyInputs) assert.doesNotThrow(() => findCallSites(t, 'python'), t);
      const tsInputs = ['measureLLM(', '/* measureLLM(', '`${measureLLM(', 'x = /measureLLM(', 'measureLLM<T', 'measureLLM("a', 'tracedCall({ feature: `${', '#!'];
      for (const t of tsInputs) assert.doesNotThrow(() => findCallSites(t, 'typescript'), t);
      assert.deepEqual(py('traced_call(feature="a"'), [{ wrapper: 'traced_call', line: 1, column: 1, endLine: 1, tags: { feature: 'a' }, dynamic: [] }]);
    });

    it('survives deep nesting of templates, f-strings and brackets', () => {
      const deep = 10_000;
      assert.doesNotThrow(() => findCallSites('measureLLM(' + '`${'.repeat(deep), 'typescript'));
      assert.doesNotThrow(() => findCallSites('traced_call(' + 'f"{'.repeat(deep), 'python'));
      assert.equal(findCallSites('traced_call(' + '('.repeat(deep) + ')'.repeat(deep) + ')', 'python').length, 1);
      assert.doesNotThrow(() => findCallSites('traced_call(metadata=' + '{"metadata": '.repeat(deep), 'python'));
    });

    it('survives random punctuation soup in both languages', () => {
      let seed = 7;
      const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
      const parts = ['traced_call', 'measureLLM', 'tracer.start_run', '(', ')', '{', '}', '[', ']', '"', "'", '`', '${', '#', '//', '/*', '*/', '/',
        '\\', '\n', ' ', 'f"', 'r"', '"""', '=', ',', '@', 'def ', 'function ', ':', 'feature', '<', '>', '?.', '...'];
      for (let round = 0; round < 300; round++) {
        let text = '';
        for (let i = 0; i < 60; i++) text += parts[Math.floor(rnd() * parts.length)];
        for (const lang of ['python', 'typescript', 'javascript'] as const) {
          const sites = findCallSites(text, lang);
          for (const s of sites) assert.ok(s.line >= 1 && s.endLine >= s.line && s.column >= 1, text);
        }
      }
    });
  });
});

describe('parseWrapperSetting', () => {
  it('accepts objects and bare names, filling default keywords and object arguments', () => {
    const { wrappers, problems } = parseWrapperSetting([
      { name: 'ask_llm', positional: { 0: 'feature' } },
      'myCo.traceLLM',
      { name: 'run', keywords: { flow: 'feature' }, objectArgs: [], decorator: true },
    ]);
    assert.deepEqual(problems, []);
    assert.deepEqual(wrappers.map((w) => w.name), ['ask_llm', 'myCo.traceLLM', 'run']);
    assert.deepEqual(wrappers[0].keywords, DEFAULT_TAG_KEYWORDS);
    assert.deepEqual(wrappers[0].positional, { 0: 'feature' });
    assert.deepEqual(wrappers[1].objectArgs, ['metadata', 'tags']);
    assert.deepEqual(wrappers[2], { name: 'run', keywords: { flow: 'feature' }, objectArgs: [], decorator: true });
    assert.deepEqual(findCallSites('ask_llm("faq", user_id="u")', 'python', wrappers)[0].tags, { feature: 'faq', user: 'u' });
  });

  it('reports bad entries and fields one message each and keeps the good parts', () => {
    const { wrappers, problems } = parseWrapperSetting([
      42,
      { name: 'has space' },
      { keywords: {} },
      { name: 'ok', keywords: { a: 'feature', b: 'colour' }, positional: { x: 'model', 1: 'nope', 2: 'model' }, objectArgs: 'metadata', decorator: 'yes', extra: 1 },
      { name: 'ok' },
    ]);
    assert.equal(problems.length, 10, problems.join('\n'));
    assert.match(problems[0], /^wrapper 1: expected an object/);
    assert.match(problems[1], /^wrapper 2: "name" must be/);
    assert.ok(problems.some((p) => p.includes('keyword "b" maps to "colour"')));
    assert.ok(problems.some((p) => p.includes('positional key "x"')));
    assert.ok(problems.some((p) => p.includes('"ok" is listed twice')));
    assert.deepEqual(wrappers, [{ name: 'ok', keywords: { a: 'feature' }, positional: { 2: 'model' } }]);
  });

  it('returns nothing for an unset setting and one problem for a value that is not an array', () => {
    assert.deepEqual(parseWrapperSetting(undefined), { wrappers: [], problems: [] });
    assert.deepEqual(parseWrapperSetting({ name: 'x' }).problems, ['expected an array of wrapper objects, got an object']);
  });

  it('DEFAULT_WRAPPERS round-trips through the parser unchanged', () => {
    const { wrappers, problems } = parseWrapperSetting(JSON.parse(JSON.stringify(DEFAULT_WRAPPERS)));
    assert.deepEqual(problems, []);
    assert.deepEqual(wrappers, DEFAULT_WRAPPERS);
  });
});
