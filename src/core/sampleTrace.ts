import { seededRandom } from './random';

/**
 * A small, realistic sample trace for new users ("Write a sample trace"): `calls` calls over the 7 days before
 * `nowMs`, in the canonical record shape, from a seeded generator (the same inputs give the same text).
 */
export function sampleTrace(nowMs: number, calls = 400, seed = 1): string {
  const rnd = seededRandom(seed);
  const pick = <T>(a: readonly T[]) => a[Math.floor(rnd() * a.length)];
  const features = [
    { feature: 'summarization', model: 'claude-sonnet-4-5', provider: 'anthropic', input: 6000, output: 500, cache: 0.7, template: 'v2.1', callsite: 'app/summarize.py:18' },
    { feature: 'search', model: 'gpt-4o-mini', provider: 'openai', input: 2500, output: 200, cache: 0.3, template: 'v3', callsite: 'app/search.py:27' },
    { feature: 'support-agent', model: 'claude-haiku-4-5', provider: 'anthropic', input: 12000, output: 700, cache: 0.85, template: 'v5', callsite: 'app/support.py:40' },
    { feature: 'code-review', model: 'gpt-4o', provider: 'openai', input: 9000, output: 1200, cache: 0.2, template: 'v1', callsite: 'web/review.ts:22' },
  ] as const;
  const users = Array.from({ length: 12 }, (_, i) => `u_${String(i + 1).padStart(3, '0')}`);
  const start = nowMs - 7 * 86_400_000;
  const lines: string[] = [];
  for (let i = 0; i < calls; i++) {
    const f = pick(features);
    const ts = start + ((i + rnd()) / calls) * 7 * 86_400_000;
    const total = Math.round(f.input * (0.4 + rnd() * 1.2));
    const cached = rnd() < f.cache ? Math.round(total * 0.8) : 0;
    const isAnthropic = f.provider === 'anthropic';
    const write = isAnthropic && cached === 0 && rnd() < 0.3 ? Math.round(total * 0.8) : 0;
    const rec: Record<string, unknown> = {
      ts: new Date(ts).toISOString(),
      id: `sample_${i}`,
      trace_id: `t_${Math.floor(i / 3)}`,
      provider: f.provider,
      model: f.model,
      input_tokens: total - cached - write,
      output_tokens: Math.round(f.output * (0.3 + rnd() * 1.4)),
      cache_read_tokens: cached,
      cache_write_tokens: write,
      latency_ms: Math.round(400 + rnd() * 3000),
      metadata: { feature: f.feature, user_id: pick(users), template_version: f.template },
      callsite: f.callsite,
    };
    if (rnd() < 0.03) rec.error = 'rate_limit';
    if (rnd() < 0.04) delete (rec.metadata as Record<string, unknown>).feature;
    lines.push(JSON.stringify(rec));
  }
  return lines.join('\n') + '\n';
}
