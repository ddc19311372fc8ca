import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { createDocumentClient, DatabaseUnavailableError, isDatabaseUnavailable } from './client.js';
import { freePort } from './local/dynamodb-local.js';
import { testConnection } from './testing.js';

describe('the document client', () => {
  it('fails calls at once while its database is said to be unavailable, and sends them again once it is back', async () => {
    let available = false;
    const client = createDocumentClient({ ...testConnection(), available: () => available });
    const refused = await client.send(new ListTablesCommand({})).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(DatabaseUnavailableError);
    expect(isDatabaseUnavailable(refused)).toBe(true);
    available = true;
    expect((await client.send(new ListTablesCommand({}))).TableNames).toBeInstanceOf(Array);
    client.destroy();
  });

  it('reports an endpoint nobody answers on as unavailable, not as a fault of the request', async () => {
    const port = await freePort();
    const client = createDocumentClient({ ...testConnection(), endpoint: `http://127.0.0.1:${port}` });
    const refused = await client.send(new ListTablesCommand({})).catch((error: unknown) => error);
    expect(isDatabaseUnavailable(refused)).toBe(true);
    expect(isDatabaseUnavailable(new Error('ValidationException'))).toBe(false);
    client.destroy();
  });
});
