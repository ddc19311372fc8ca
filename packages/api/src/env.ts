import { z } from 'zod';
import { MAX_POST_BYTES } from './file/schema.js';

/** A memory size as DuckDB takes it, e.g. `512MB` or `1GB`. */
const memorySize = z.string().regex(/^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i);

/**
 * The API's own settings. The server reads them from its environment through `parseApiEnv` and passes the
 * result in; nothing else in this package reads `process.env`.
 */
export const apiEnvSchema = z.object({
  JWT_SECRET: z
    .string()
    .min(43, 'JWT_SECRET must hold at least 256 bits: 43+ characters of base64, or 64 hex digits')
    .optional(),
  JWT_ISSUER: z.string().min(1).default('leonidas'),
  JWT_AUDIENCE: z.string().min(1).default('leonidas-api'),
  ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(30).max(900).default(900),
  REFRESH_TOKEN_TTL_DAYS: z.coerce.number().int().min(1).max(365).default(30),
  AUTH_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(60),
  MAX_UPLOAD_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_POST_BYTES)
    .default(100 * 1024 * 1024),
  /** Presigned upload URLs live at most 15 minutes. */
  UPLOAD_URL_TTL_SECONDS: z.coerce.number().int().min(60).max(900).default(900),
  DOWNLOAD_URL_TTL_SECONDS: z.coerce.number().int().min(10).max(3600).default(300),
  /** How long `file.confirm` waits for processing before answering PROCESSING and finishing in the background. */
  CONFIRM_WAIT_MS: z.coerce.number().int().min(0).max(60_000).default(10_000),
  DUCKDB_MEMORY_LIMIT: memorySize.default('1GB'),
  DUCKDB_THREADS: z.coerce.number().int().min(1).max(64).default(2),
  /** Uploads validated and profiled at once on this server, and at once for one user; the rest wait in turn. */
  FILE_PROCESSING_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
  FILE_PROCESSING_PER_USER: z.coerce.number().int().min(1).max(64).default(1),
  /** DS Bro's SQL: how long one query may run, how much memory it may use, how many run at once. */
  QUERY_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(600).default(15),
  QUERY_MEMORY_LIMIT: memorySize.default('512MB'),
  QUERY_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
  /** Local copies of tables kept for queries, in bytes (least recently used go first). */
  TABLE_CACHE_BYTES: z.coerce
    .number()
    .int()
    .min(1024 * 1024)
    .default(2 * 1024 ** 3),
  AWS_REGION: z.string().min(1).optional(),
  LLM_PROVIDER: z.enum(['offline', 'bedrock', 'openai']).default('offline'),
  BEDROCK_MODEL_ID: z.string().min(1).default('openai.gpt-oss-120b-1:0'),
  /** Only for a local stand-in of Bedrock (tests, benchmarks). */
  BEDROCK_ENDPOINT: z.url().optional(),
  OPENAI_BASE_URL: z.url().default('https://api.openai.com/v1'),
  OPENAI_API_KEY: z.string().min(1).optional(),
  OPENAI_MODEL: z.string().min(1).default('gpt-4o-mini'),
  LLM_MAX_OUTPUT_TOKENS: z.coerce.number().int().min(64).max(32_768).default(2048),
  CHAT_SEND_PER_MINUTE: z.coerce.number().int().min(1).default(20),
  CHAT_MAX_RUN_SECONDS: z.coerce.number().int().min(5).max(3600).default(300),
  /** How long a finished reply's events stay in memory for clients resuming their stream (then: from storage). */
  CHAT_RUN_RETAIN_SECONDS: z.coerce.number().min(0).max(3600).default(60),
  /** Roughly how many tokens of recent conversation go to the model (4 characters a token). */
  CHAT_HISTORY_TOKEN_BUDGET: z.coerce.number().int().min(500).default(8000),
  /** The offline assistant streams word by word with this pause, like a model would. */
  OFFLINE_TOKEN_DELAY_MS: z.coerce.number().int().min(0).max(1000).default(15),
  /*
   * Per-user quotas, far above what a person working with data reaches but low enough that one account cannot
   * fill the table or the bucket (README, "Security").
   */
  MAX_PROJECTS_PER_USER: z.coerce.number().int().min(1).default(1000),
  /** Per user rather than per project, so the total cannot grow as projects times sessions. */
  MAX_SESSIONS_PER_USER: z.coerce.number().int().min(1).default(10_000),
  /** A send writes two messages (the user's and the reply). */
  MAX_MESSAGES_PER_SESSION: z.coerce.number().int().min(2).default(2000),
  /** Each pending upload is an entry of the user's usage item (at most 400 KB), hence the ceiling. */
  MAX_PENDING_UPLOADS_PER_USER: z.coerce.number().int().min(1).max(1000).default(100),
  MAX_PENDING_UPLOAD_BYTES_PER_USER: z.coerce
    .number()
    .int()
    .min(1)
    .default(10 * 1024 ** 3),
  MAX_STORED_BYTES_PER_USER: z.coerce
    .number()
    .int()
    .min(1)
    .default(50 * 1024 ** 3),
});

export type ApiEnv = z.infer<typeof apiEnvSchema>;

export function parseApiEnv(source: Record<string, string | undefined>): ApiEnv {
  return apiEnvSchema.parse(source);
}

/** Settings that depend on each other, checked once the values themselves are valid. */
export function apiEnvProblems(env: ApiEnv): string[] {
  const problems: string[] = [];
  if (env.LLM_PROVIDER === 'bedrock' && !env.AWS_REGION)
    problems.push('AWS_REGION: required with LLM_PROVIDER=bedrock');
  // Otherwise a file of the largest allowed size could never be uploaded.
  for (const name of ['MAX_PENDING_UPLOAD_BYTES_PER_USER', 'MAX_STORED_BYTES_PER_USER'] as const) {
    if (env[name] < env.MAX_UPLOAD_BYTES) problems.push(`${name}: must be at least MAX_UPLOAD_BYTES`);
  }
  if (env.LLM_PROVIDER === 'openai' && !env.OPENAI_API_KEY) {
    problems.push('OPENAI_API_KEY: required with LLM_PROVIDER=openai (any value for servers that take none)');
  }
  return problems;
}
