import type { ApiEnv } from './env.js';

/**
 * Per-user quotas. Usage is counted in DynamoDB (`@leonidas/db`'s usage item, one per user) and checked by
 * the condition of the transaction that creates the thing counted, so the limits hold across concurrent
 * requests and server instances.
 */
export interface QuotaSettings {
  maxProjects: number;
  maxSessions: number;
  maxMessagesPerSession: number;
  maxPendingUploads: number;
  maxPendingUploadBytes: number;
  maxStoredBytes: number;
}

export function quotaSettings(env: ApiEnv): QuotaSettings {
  return {
    maxProjects: env.MAX_PROJECTS_PER_USER,
    maxSessions: env.MAX_SESSIONS_PER_USER,
    maxMessagesPerSession: env.MAX_MESSAGES_PER_SESSION,
    maxPendingUploads: env.MAX_PENDING_UPLOADS_PER_USER,
    maxPendingUploadBytes: env.MAX_PENDING_UPLOAD_BYTES_PER_USER,
    maxStoredBytes: env.MAX_STORED_BYTES_PER_USER,
  };
}

/** A count as people write it: 10,000. */
export const formatCount = (count: number) => count.toLocaleString('en-US');

/** Bytes in the largest binary unit that keeps the number at least 1: 100 MB, 1.5 GB, 600 bytes. */
export function formatBytes(bytes: number): string {
  const units = [
    ['GB', 1024 ** 3],
    ['MB', 1024 ** 2],
    ['KB', 1024],
  ] as const;
  for (const [unit, size] of units) {
    const value = bytes / size;
    if (value >= 1) return `${Number.isInteger(value) ? value : value.toFixed(1)} ${unit}`;
  }
  return `${bytes} byte${bytes === 1 ? '' : 's'}`;
}
