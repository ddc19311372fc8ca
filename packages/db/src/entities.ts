import { any, Entity, item, number, string } from 'dynamodb-toolbox';
import type { LeonidasTable } from './table.js';

/**
 * Entity names are stored on every item (`_et`) and can never change once data exists.
 * Keys are built from prefixes; the access patterns they serve are listed in this package's README.
 */
const timestamps = {
  created: { name: 'createdAt', savedAs: 'createdAt' },
  modified: { name: 'updatedAt', savedAs: 'updatedAt' },
} as const;

export function createEntities(table: LeonidasTable) {
  const user = new Entity({
    name: 'USER',
    table,
    timestamps,
    schema: item({
      userId: string().key(),
      email: string(),
      name: string(),
      passwordHash: string(),
    }),
    computeKey: ({ userId }) => ({ pk: `USER#${userId}`, sk: 'USER' }),
  });

  /** Claims a normalised email for one user; written in the same transaction as the user. */
  const emailClaim = new Entity({
    name: 'EMAIL_CLAIM',
    table,
    timestamps: false,
    schema: item({
      email: string().key(),
      userId: string(),
    }),
    computeKey: ({ email }) => ({ pk: `EMAIL#${email}`, sk: 'EMAIL' }),
  });

  /** Failed-login bookkeeping per normalised email, whether or not an account exists (no enumeration). */
  const loginGuard = new Entity({
    name: 'LOGIN_GUARD',
    table,
    timestamps: false,
    schema: item({
      email: string().key(),
      failures: number(),
      lockedUntil: number().optional(),
      ttl: number(),
    }),
    computeKey: ({ email }) => ({ pk: `LOGIN#${email}`, sk: 'LOGIN' }),
  });

  /** One login on one device: every refresh token it is ever rotated into belongs to the family. */
  const refreshFamily = new Entity({
    name: 'REFRESH_FAMILY',
    table,
    timestamps,
    schema: item({
      familyId: string().key(),
      userId: string(),
      revokedAt: string().optional(),
      ttl: number(),
    }),
    computeKey: ({ familyId }) => ({ pk: `REFRESH_FAMILY#${familyId}`, sk: 'FAMILY' }),
  });

  /** Stored under the SHA-256 of the token; the token itself is never stored. */
  const refreshToken = new Entity({
    name: 'REFRESH_TOKEN',
    table,
    timestamps,
    schema: item({
      tokenHash: string().key(),
      familyId: string(),
      userId: string(),
      expiresAt: number(),
      rotatedAt: string().optional(),
      ttl: number(),
    }),
    computeKey: ({ tokenHash }) => ({ pk: `REFRESH#${tokenHash}`, sk: 'REFRESH' }),
  });

  const project = new Entity({
    name: 'PROJECT',
    table,
    timestamps,
    schema: item({
      userId: string().key(),
      projectId: string().key(),
      name: string(),
      description: string(),
      version: number(),
    }),
    computeKey: ({ userId, projectId }) => ({ pk: `USER#${userId}`, sk: `PROJECT#${projectId}` }),
  });

  /**
   * A file of a project. `gsi3pk`/`gsi3sk` exist only while the upload waits for confirmation (a sparse index
   * the sweep reads); `metadata` is the CSV profile once processed.
   */
  const file = new Entity({
    name: 'FILE',
    table,
    timestamps,
    schema: item({
      fileId: string().key(),
      userId: string(),
      projectId: string(),
      filename: string(),
      contentType: string(),
      size: number(),
      status: string().enum('UPLOADING', 'PROCESSING', 'COMPLETED', 'FAILED'),
      source: string().enum('USER_UPLOAD', 'APP_GENERATED'),
      objectKey: string(),
      uploadExpiresAt: number(),
      processingStartedAt: number().optional(),
      failureReason: string().optional(),
      metadata: any().optional(),
      version: number(),
      gsi3pk: string().optional(),
      gsi3sk: string().optional(),
    }).and((schema) => ({
      gsi1pk: string().link<typeof schema>(({ projectId }) => `PROJECT#${projectId}`),
      gsi1sk: string().link<typeof schema>(({ fileId }) => `FILE#${fileId}`),
      gsi2pk: string().link<typeof schema>(
        ({ projectId, source }) => `PROJECT#${projectId}#SOURCE#${source}`,
      ),
      gsi2sk: string().link<typeof schema>(({ fileId }) => fileId),
    })),
    computeKey: ({ fileId }) => ({ pk: `FILE#${fileId}`, sk: 'FILE' }),
  });

  return { user, emailClaim, loginGuard, refreshFamily, refreshToken, project, file };
}

export type LeonidasEntities = ReturnType<typeof createEntities>;
