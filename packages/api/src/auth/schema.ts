import { z } from 'zod';

/** Emails compare case-insensitively: they are trimmed and lower-cased before anything else. */
export const emailInput = z
  .string()
  .trim()
  .toLowerCase()
  .max(254, 'Email is too long')
  .pipe(z.email({ error: 'Enter a valid email address' }));

export const passwordInput = z
  .string()
  .min(8, 'Password must be at least 8 characters')
  .max(128, 'Password must be at most 128 characters');

export const registerInput = z.strictObject({
  email: emailInput,
  password: passwordInput,
  name: z.string().trim().min(1, 'Name cannot be empty').max(100, 'Name is too long').optional(),
});

export const loginInput = z.strictObject({
  email: emailInput,
  // Not the registration rules: an old password that breaks them just fails like any wrong one.
  password: z.string().min(1, 'Enter your password').max(1024, 'Password is too long'),
});

export const refreshTokenInput = z.strictObject({
  refreshToken: z.string().min(1).max(200),
});

export const userOutput = z.object({
  id: z.string(),
  email: z.string(),
  name: z.string(),
  createdAt: z.date(),
});
export type User = z.infer<typeof userOutput>;

export const authResultOutput = z.object({
  user: userOutput,
  accessToken: z.string(),
  refreshToken: z.string(),
  accessTokenExpiresAt: z.date(),
});
export type AuthResult = z.infer<typeof authResultOutput>;
