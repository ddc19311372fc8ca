import { fileURLToPath } from 'node:url';
import { apiEnvProblems, apiEnvSchema } from '@leonidas/api';
import { MAX_BATCH_ITEMS } from '@leonidas/client';
import { z } from 'zod';

const flag = z.enum(['true', 'false']).transform((value) => value === 'true');

/** Every setting of the server, validated at start; nothing else in the server reads `process.env`. */
export const serverEnvSchema = apiEnvSchema.extend({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
  DATA_DIR: z.string().min(1).default('.leonidas'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /**
   * Comma-separated origins allowed to call the API and the embedded object store from a browser, besides the
   * server's own (`http://localhost:<PORT>` and `http://127.0.0.1:<PORT>`, always allowed: see `ownOrigins`).
   */
  CORS_ORIGINS: z
    .string()
    .default('http://localhost:5173')
    .transform((value) =>
      value
        .split(',')
        .map((origin) => origin.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.url({ error: 'CORS_ORIGINS must be a comma-separated list of URLs' }))),
  /**
   * Host names the server answers to (`*` for any). Default: on loopback, the loopback names and the hosts of
   * CORS_ORIGINS (against DNS rebinding); on any other interface, any.
   */
  ALLOWED_HOSTS: z
    .string()
    .transform((value) =>
      value
        .split(',')
        .map((host) => host.trim().toLowerCase())
        .filter(Boolean),
    )
    .optional(),
  /** How many proxies sit in front of the server (for the client address used by rate limits). */
  TRUST_PROXY: z.coerce.number().int().min(0).max(10).default(0),
  /**
   * Uploads go straight to the object store, so API bodies are small: the largest call, a 32,000-character
   * chat message, is under 200 KB even with every character escaped.
   */
  MAX_BODY_BYTES: z.coerce.number().int().min(1024).default(262_144),
  /** Calls in one tRPC batch at most: at least what the SDK sends in one, so its batches are never refused. */
  MAX_BATCH_SIZE: z.coerce.number().int().min(MAX_BATCH_ITEMS).max(100).default(MAX_BATCH_ITEMS),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).default(10_000),
  /**
   * How long an idle keep-alive connection stays open. Behind a load balancer it must outlast the balancer's
   * idle timeout (60 s on the AWS one infra/terraform makes), or the balancer sends a request down a connection
   * the server is closing and answers 502. Node's own default is 5 s.
   */
  KEEP_ALIVE_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(299).default(65),
  /**
   * How long a request's headers may take to arrive. Kept above the keep-alive timeout, as advice for Node
   * behind load balancers has it, and at most Node's 300 s request timeout.
   */
  HEADERS_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(300).default(66),
  /** Set either to use a DynamoDB service instead of the embedded DynamoDB Local. */
  DYNAMODB_ENDPOINT: z.url({ error: 'DYNAMODB_ENDPOINT must be a URL' }).optional(),
  TABLE_NAME: z.string().min(3).max(255).optional(),
  AWS_REGION: z.string().min(1).optional(),
  /** Whether to create the table when it is missing (default: yes unless talking to AWS itself). */
  CREATE_TABLE: flag.optional(),
  /** Set to use an S3 bucket instead of the embedded object store; `S3_ENDPOINT` for any S3-compatible store. */
  S3_BUCKET: z.string().min(3).max(63).optional(),
  S3_ENDPOINT: z.url({ error: 'S3_ENDPOINT must be a URL' }).optional(),
  /** Where browsers reach the store, when it differs from `S3_ENDPOINT` (e.g. behind a proxy). */
  S3_PUBLIC_ENDPOINT: z.url({ error: 'S3_PUBLIC_ENDPOINT must be a URL' }).optional(),
  /** The built web app to serve at `/` (apps/web/dist, next to this server's own folder). */
  WEB_DIST_DIR: z
    .string()
    .min(1)
    .default(fileURLToPath(new URL('../../web/dist', import.meta.url))),
  /** How often housekeeping runs: expired unconfirmed uploads removed, interrupted replies marked, interrupted deletions finished. */
  SWEEP_INTERVAL_SECONDS: z.coerce.number().int().min(10).default(300),
});

export type ServerEnv = z.infer<typeof serverEnvSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * The environment of the file processing thread: the process's, with the AWS SDK's old-Node warning off (it is
 * printed once per thread that loads the SDK, and the server's own thread has printed it already).
 */
export function fileThreadEnv(): Record<string, string | undefined> {
  return { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
}

export function loadServerEnv(source: Record<string, string | undefined> = process.env): ServerEnv {
  const result = serverEnvSchema.safeParse(source);
  if (!result.success) {
    const problems = result.error.issues.map(
      (issue) => `  ${issue.path.join('.') || '(env)'}: ${issue.message}`,
    );
    throw new ConfigError(`Invalid configuration:\n${problems.join('\n')}`);
  }
  const env = {
    ...result.data,
    CORS_ORIGINS: [...new Set([...result.data.CORS_ORIGINS, ...ownOrigins(result.data.PORT)])],
  };
  const missing = isEmbedded(env)
    ? []
    : [
        ['AWS_REGION', env.AWS_REGION],
        ['S3_BUCKET', env.S3_BUCKET],
        // Every instance must sign with the same key.
        ['JWT_SECRET', env.JWT_SECRET],
      ].flatMap(([name, value]) => (value ? [] : [`${name}: required outside embedded mode`]));
  const timeouts =
    env.HEADERS_TIMEOUT_SECONDS > env.KEEP_ALIVE_TIMEOUT_SECONDS
      ? []
      : [
          `HEADERS_TIMEOUT_SECONDS: must be longer than KEEP_ALIVE_TIMEOUT_SECONDS (${env.KEEP_ALIVE_TIMEOUT_SECONDS})`,
        ];
  const problems = [...missing, ...timeouts, ...apiEnvProblems(env)];
  if (problems.length > 0)
    throw new ConfigError(`Invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  return env;
}

/**
 * The origins of the web app this server serves itself: whatever port it is given, the app's uploads (to the
 * object store, another origin) and calls must work without also setting CORS_ORIGINS. Port 0 (any free port,
 * in tests) has no origin to name before it listens.
 */
export function ownOrigins(port: number): string[] {
  return port > 0 ? [`http://localhost:${port}`, `http://127.0.0.1:${port}`] : [];
}

/** Embedded mode: no DynamoDB configured, so the server runs DynamoDB Local itself. */
export const isEmbedded = (env: ServerEnv) =>
  env.DYNAMODB_ENDPOINT === undefined && env.TABLE_NAME === undefined;
