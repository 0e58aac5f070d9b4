// Provider aliases and service-tier discounts: small and free of the price catalogue, so code that only needs these
// (the call table, the state cache on a worker's fast path) does not load it.

/** Provider names as tracers write them, to the catalogue's provider ids. */
export const PROVIDER_ALIASES: Record<string, string> = {
  gemini: 'google',
  'google_genai': 'google',
  'google-genai': 'google',
  vertex_ai: 'google',
  vertexai: 'google',
  'gcp.gemini': 'google',
  'gcp.vertex_ai': 'google',
  'aws.bedrock': 'aws',
  bedrock: 'aws',
  'az.ai.openai': 'azure',
  'azure.ai.openai': 'azure',
  azure_openai: 'azure',
  mistral_ai: 'mistral',
  'x_ai': 'x-ai',
  xai: 'x-ai',
};

/**
 * Discounts of the asynchronous service tiers, as multipliers of the standard price, per provider. Batch APIs: OpenAI,
 * Anthropic (prompt-cache multipliers stack), Google Gemini, Mistral and Groq bill 50% of the standard rates. Flex
 * processing: OpenAI and Gemini bill it at the batch rates. Priority tiers vary by model and are not applied (a price
 * override can set them). Unknown providers and tiers: the standard price.
 */
const SERVICE_TIER_MULTIPLIERS: Record<string, Record<string, number>> = {
  batch: { openai: 0.5, azure: 0.5, anthropic: 0.5, google: 0.5, 'google-gla': 0.5, 'google-vertex': 0.5, gemini: 0.5, mistral: 0.5, groq: 0.5 },
  flex: { openai: 0.5, google: 0.5, 'google-gla': 0.5, 'google-vertex': 0.5, gemini: 0.5 },
};

/** The multiplier of a call's standard price for its service tier (`service_tier` tag), 1 when none applies. */
export function serviceTierMultiplier(provider: string | undefined, tier: string | undefined): number {
  if (!tier) return 1;
  const byProvider = SERVICE_TIER_MULTIPLIERS[tier.toLowerCase()];
  if (!byProvider || !provider) return 1;
  const p = provider.toLowerCase();
  return byProvider[PROVIDER_ALIASES[p] ?? p] ?? 1;
}

