import * as assert from 'node:assert/strict';
import { calcPrice, waitForUpdate } from '@pydantic/genai-prices';
import { catalogueProviders, findCatalogueModel, matches } from '../../../src/core/catalogue';
import { PROVIDER_ALIASES } from '../../../src/core/serviceTier';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** What @pydantic/genai-prices' calcPrice finds for a model id and provider id: `provider/model`, or null. */
function theirs(model: string, provider: string | undefined): string | null {
  let r: ReturnType<typeof calcPrice> = null;
  try {
    r = calcPrice({ input_tokens: 1, output_tokens: 1 }, model, provider ? { providerId: provider } : {});
  } catch {
    r = null;
  }
  return r ? `${r.provider.id}/${r.model.id}` : null;
}

function ours(model: string, provider: string | undefined): string | null {
  const r = findCatalogueModel(model, provider);
  return r ? `${r.provider.id}/${r.model.id}` : null;
}

/** Strings a match rule is about (its literals), to build ids near its edges from. */
function literals(rule: Parameters<typeof matches>[0], out: string[] = []): string[] {
  if ('or' in rule) for (const r of rule.or) literals(r, out);
  else if ('and' in rule) for (const r of rule.and) literals(r, out);
  else if ('equals' in rule) out.push(rule.equals);
  else if ('starts_with' in rule) out.push(rule.starts_with);
  else if ('ends_with' in rule) out.push(rule.ends_with);
  else if ('contains' in rule) out.push(rule.contains);
  else if ('regex' in rule) out.push(rule.regex.replace(/^\^|\$$/g, '').replace(/\\d\{(\d+)\}/g, (_, n: string) => '2'.repeat(Number(n))).replace(/\\/g, ''));
  return out;
}

describe('the price catalogue (core/catalogue.ts)', () => {
  it('holds what @pydantic/genai-prices holds: the same providers in the same order, the same models, rules and prices', async () => {
    const pkg = (await waitForUpdate()) ?? [];
    const mine = catalogueProviders();
    assert.equal(mine.length, pkg.length);
    for (let i = 0; i < pkg.length; i++) {
      const p = pkg[i];
      const q = mine[i];
      assert.equal(q.id, p.id);
      assert.deepEqual(q.provider_match, p.provider_match ?? undefined, p.id);
      assert.deepEqual(q.model_match, p.model_match ?? undefined, p.id);
      assert.deepEqual(q.fallback_model_providers, p.fallback_model_providers ?? undefined, p.id);
      assert.equal(q.models.length, p.models.length, p.id);
      for (let j = 0; j < p.models.length; j++) {
        assert.equal(q.models[j].id, p.models[j].id);
        assert.deepEqual(q.models[j].match, p.models[j].match, `${p.id}/${p.models[j].id}`);
        assert.deepEqual(JSON.parse(JSON.stringify(q.models[j].prices)), JSON.parse(JSON.stringify(p.models[j].prices)), `${p.id}/${p.models[j].id}`);
      }
    }
  });

  it('finds the model calcPrice finds, for every model of the catalogue and ids made from them, with and without a provider', () => {
    const all = catalogueProviders();
    const ids = new Set<string>();
    for (const p of all) {
      for (const m of p.models) {
        ids.add(m.id);
        for (const lit of literals(m.match)) {
          ids.add(lit);
          ids.add(`${lit}-20250514`); // a compact date: calcPrice's second try with dashes
          ids.add(`${lit}-2025-05-14`);
          ids.add(`${lit}-20251399`); // not a date
          ids.add(`${lit}:free`);
          ids.add(`${p.id}/${lit}`);
          ids.add(` ${lit.toUpperCase()} `);
          ids.add(lit.slice(0, -1));
        }
      }
    }
    // Ids from the third-party samples and the demo.
    for (const f of ['samples/demo/traces/app.jsonl', '../shared/realworld/groq-batch-output_llama-3.1-8b.jsonl']) {
      let text = '';
      try {
        text = readFileSync(join(__dirname, '..', '..', '..', '..', f), 'utf8');
      } catch {
        if (!f.startsWith('../')) throw new Error(`${f} is missing`);
      }
      for (const m of text.matchAll(/"model"\s*:\s*"([^"]+)"/g)) ids.add(m[1]);
    }
    for (const extra of ['', ' ', 'gpt-4o', 'openai/gpt-4o', 'litellm/gpt-4o', 'anthropic/claude-3-5-sonnet-20241022', 'bedrock/anthropic.claude-3-haiku', 'azure/gpt-4o-2024-08-06', 'text-embedding-3-small', 'llama-3.1-8b-instant', 'models/gemini-2.5-flash', 'us.anthropic.claude-sonnet-4-5-20250929-v1:0']) ids.add(extra);
    const providers: (string | undefined)[] = [undefined, 'litellm', 'LiteLLM', 'no-such-provider', ' OpenAI ', ...all.map((p) => p.id), ...Object.keys(PROVIDER_ALIASES)];
    let compared = 0;
    let found = 0;
    const differ: string[] = [];
    for (const id of ids) {
      // Every id without a provider and with its own provider's id; a sample of the others (the whole product is ~5M calls).
      for (let k = 0; k < providers.length; k++) {
        const pid = providers[k];
        if (k >= 5 && (id.length + k) % 29 !== 0 && !id.startsWith(`${pid}/`)) continue;
        const want = theirs(id, pid);
        const got = ours(id, pid);
        compared++;
        if (want) found++;
        if (want !== got && differ.length < 20) differ.push(`${JSON.stringify(id)} provider ${pid}: calcPrice ${want}, ours ${got}`);
      }
    }
    assert.deepEqual(differ, []);
    assert.ok(compared > 30000 && found > 5000, `${compared} compared, ${found} found`);
  });

  it('finds models without reading the package\'s module', () => {
    // The generated data is what the bundles ship (dist/priceCatalogue.js): a thread that prices never loads the package.
    assert.ok(catalogueProviders().some((p) => p.id === 'openai' && p.models.some((m) => m.id === 'gpt-4o')));
    assert.equal(ours('claude-sonnet-4-5-20250929', 'anthropic'), 'anthropic/claude-sonnet-4-5');
    assert.equal(ours('gpt-4o-2024-08-06', undefined), 'openai/gpt-4o');
    assert.equal(ours('nope-model', undefined), null);
  });
});
