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

/**
 * Browsers ask for `'cookie'`: the refresh token then goes into an HttpOnly cookie, out of scripts' reach, and
 * not into the response body. Services leave it out and get the token in the body.
 */
const refreshTokenIn = z.literal('cookie').optional();
const refreshToken = z.string().min(1).max(200);

export const registerInput = z.strictObject({
  email: emailInput,
  password: passwordInput,
  name: z.string().trim().min(1, 'Name cannot be empty').max(100, 'Name is too long').optional(),
  refreshTokenIn,
});

export const loginInput = z.strictObject({
  email: emailInput,
  // Not the registration rules: an old password that breaks them just fails like any wrong one.
  password: z.string().min(1, 'Enter your password').max(1024, 'Password is too long'),
  refreshTokenIn,
});

/** Without `refreshToken`, the browser's cookie is used, and the rotated token goes back into it. */
export const refreshInput = z.strictObject({ refreshToken: refreshToken.optional(), refreshTokenIn });

/** Without `refreshToken`, the browser's cookie is used, and cleared. */
export const logoutInput = z.strictObject({ refreshToken: refreshToken.optional() });

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
  /** Absent when it went into the browser's cookie instead. */
  refreshToken: z.string().optional(),
  accessTokenExpiresAt: z.date(),
});
export type AuthResult = z.infer<typeof authResultOutput>;
/** A sign-in as issued, before its refresh token is handed over (in the body or in the cookie). */
export type IssuedTokens = AuthResult & { refreshToken: string };
