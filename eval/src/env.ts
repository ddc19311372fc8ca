import { goldenQuestions } from '@leonidas/api/golden';
import { z } from 'zod';

const knownIds = new Set(goldenQuestions.map((question) => question.id));

/** Every setting of the eval, validated at start; nothing else in this package reads `process.env`. */
export const evalEnvSchema = z
  .object({
    LEONIDAS_URL: z.url({ error: 'must be a URL' }).default('http://localhost:3000'),
    /** An account to use (signed in, or registered if it does not exist); without one, a throwaway account. */
    LEONIDAS_EMAIL: z.email({ error: 'must be an email address' }).optional(),
    LEONIDAS_PASSWORD: z.string().min(8).max(128).optional(),
    /** Comma-separated question ids to ask; all of them when unset. */
    EVAL_ONLY: z
      .string()
      .transform((value) =>
        value
          .split(',')
          .map((id) => id.trim())
          .filter(Boolean),
      )
      .superRefine((ids, context) => {
        const unknown = ids.filter((id) => !knownIds.has(id));
        if (ids.length === 0) context.addIssue({ code: 'custom', message: 'names no question' });
        if (unknown.length > 0)
          context.addIssue({
            code: 'custom',
            message: `unknown questions ${unknown.join(', ')} (known: ${[...knownIds].join(', ')})`,
          });
      })
      .optional(),
  })
  .refine((env) => (env.LEONIDAS_EMAIL === undefined) === (env.LEONIDAS_PASSWORD === undefined), {
    message: 'set LEONIDAS_EMAIL and LEONIDAS_PASSWORD together, or neither for a throwaway account',
    path: ['LEONIDAS_PASSWORD'],
  });

export type EvalEnv = z.infer<typeof evalEnvSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadEvalEnv(source: Record<string, string | undefined> = process.env): EvalEnv {
  const result = evalEnvSchema.safeParse(source);
  if (!result.success) {
    const problems = result.error.issues.map(
      (issue) => `  ${issue.path.join('.') || '(env)'}: ${issue.message}`,
    );
    throw new ConfigError(`Invalid configuration:\n${problems.join('\n')}`);
  }
  return result.data;
}
