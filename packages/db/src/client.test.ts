import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import {
  createDocumentClient,
  DatabaseUnavailableError,
  isDatabaseUnavailable,
  newAvailability,
  setAvailable,
} from './client.js';
import { freePort } from './local/dynamodb-local.js';
import { testConnection } from './testing.js';

describe('the document client', () => {
  it('fails calls at once while its database is said to be unavailable, and sends them again once it is back', async () => {
    const availability = newAvailability(false);
    const client = createDocumentClient({ ...testConnection(), availability });
    const refused = await client.send(new ListTablesCommand({})).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(DatabaseUnavailableError);
    expect(isDatabaseUnavailable(refused)).toBe(true);
    setAvailable(availability, true);
    expect((await client.send(new ListTablesCommand({}))).TableNames).toBeInstanceOf(Array);
    client.destroy();
  });

  it('is built the same from a copy of its connection sent to another thread, and follows the same availability', async () => {
    const connection = { ...testConnection(), availability: newAvailability(), waitsForCommits: true };
    // What a worker thread is handed (`postMessage` and `workerData` clone the same way).
    const copy = structuredClone(connection);
    const client = createDocumentClient(copy);
    expect((await client.send(new ListTablesCommand({}))).TableNames).toBeInstanceOf(Array);
    setAvailable(connection.availability, false);
    await expect(client.send(new ListTablesCommand({}))).rejects.toBeInstanceOf(DatabaseUnavailableError);
    setAvailable(connection.availability, true);
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
