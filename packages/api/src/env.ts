import { z } from 'zod';

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
    .max(5 * 1024 ** 3)
    .default(100 * 1024 * 1024),
  /** Presigned upload URLs live at most 15 minutes. */
  UPLOAD_URL_TTL_SECONDS: z.coerce.number().int().min(60).max(900).default(900),
  DOWNLOAD_URL_TTL_SECONDS: z.coerce.number().int().min(10).max(3600).default(300),
  /** How long `file.confirm` waits for processing before answering PROCESSING and finishing in the background. */
  CONFIRM_WAIT_MS: z.coerce.number().int().min(0).max(60_000).default(10_000),
  DUCKDB_MEMORY_LIMIT: z
    .string()
    .regex(/^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i)
    .default('1GB'),
  DUCKDB_THREADS: z.coerce.number().int().min(1).max(64).default(2),
});

export type ApiEnv = z.infer<typeof apiEnvSchema>;

export function parseApiEnv(source: Record<string, string | undefined>): ApiEnv {
  return apiEnvSchema.parse(source);
}
