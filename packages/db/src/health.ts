import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { Db } from './db.js';

/** True when the table answers a read within the timeout (for health checks). */
export async function pingTable(db: Db, timeoutMs = 2000): Promise<boolean> {
  try {
    await db.documentClient.send(
      new GetCommand({ TableName: db.tableName, Key: { pk: 'HEALTH', sk: 'HEALTH' } }),
      { abortSignal: AbortSignal.timeout(timeoutMs) },
    );
    return true;
  } catch {
    return false;
  }
}
