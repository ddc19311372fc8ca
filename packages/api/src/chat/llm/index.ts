import type { ApiEnv } from '../../env.js';
import { BedrockProvider } from './bedrock.js';
import { OfflineProvider } from './offline.js';
import { OpenAiProvider } from './openai.js';
import type { LlmProvider } from './types.js';

export function createProvider(env: ApiEnv): LlmProvider {
  switch (env.LLM_PROVIDER) {
    case 'bedrock':
      return new BedrockProvider({
        modelId: env.BEDROCK_MODEL_ID,
        region: env.AWS_REGION ?? 'us-east-1',
        endpoint: env.BEDROCK_ENDPOINT,
        maxTokens: env.LLM_MAX_OUTPUT_TOKENS,
      });
    case 'openai':
      return new OpenAiProvider({
        baseUrl: env.OPENAI_BASE_URL,
        apiKey: env.OPENAI_API_KEY ?? '',
        model: env.OPENAI_MODEL,
        maxTokens: env.LLM_MAX_OUTPUT_TOKENS,
      });
    case 'offline':
      return new OfflineProvider({ tokenDelayMs: env.OFFLINE_TOKEN_DELAY_MS });
  }
}
