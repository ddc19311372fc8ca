import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApiDeps } from '@leonidas/api';
import { createDb, createDocumentClient, type DynamoConnection } from '@leonidas/db';
import { type DynamoDbLocal, ensureTable } from '@leonidas/db/local';
import { type Logger, pino } from 'pino';
import { createApp } from './app.js';
import { loadOrCreateSecret, startEmbeddedDynamo } from './embedded.js';
import { isEmbedded, type ServerEnv } from './env.js';

export interface RunningServer {
  url: string;
  port: number;
  logger: Logger;
  /** Stops accepting, lets in-flight requests finish (up to the timeout), then stops the embedded stack. */
  close(): Promise<void>;
}

const EMBEDDED_TABLE_NAME = 'leonidas';

export function createLogger(env: ServerEnv): Logger {
  return pino({ level: env.LOG_LEVEL, base: { service: 'leonidas' } });
}

export async function startServer(
  env: ServerEnv,
  logger: Logger = createLogger(env),
): Promise<RunningServer> {
  const embedded = isEmbedded(env);
  let dynamo: DynamoDbLocal | undefined;
  let connection: DynamoConnection;
  if (embedded) {
    ({ dynamo, connection } = await startEmbeddedDynamo(env.DATA_DIR));
    logger.info({ endpoint: dynamo.endpoint, dataDir: env.DATA_DIR }, 'embedded DynamoDB Local started');
  } else {
    connection = { region: env.AWS_REGION ?? '', endpoint: env.DYNAMODB_ENDPOINT };
  }

  try {
    const tableName = env.TABLE_NAME ?? EMBEDDED_TABLE_NAME;
    if (env.CREATE_TABLE ?? (embedded || env.DYNAMODB_ENDPOINT !== undefined)) {
      const outcome = await ensureTable(connection, tableName);
      logger.info({ tableName, outcome }, 'table ready');
    }
    const db = createDb(createDocumentClient(connection), tableName);
    const jwtSecret = env.JWT_SECRET ?? loadOrCreateSecret(env.DATA_DIR);
    const deps = createApiDeps({ db, env: { ...env, JWT_SECRET: jwtSecret } });
    const app = createApp({ env, deps, db, logger });

    const server = await listen(app, env.PORT, env.HOST);
    const { port } = server.address() as AddressInfo;
    const host = env.HOST === '0.0.0.0' ? 'localhost' : env.HOST;
    const url = `http://${host}:${port}`;
    logger.info({ url, mode: embedded ? 'embedded' : 'cloud' }, 'Leonidas is listening');

    return {
      url,
      port,
      logger,
      close: async () => {
        await closeServer(server, env.SHUTDOWN_TIMEOUT_MS);
        db.documentClient.destroy();
        await dynamo?.stop();
      },
    };
  } catch (error) {
    await dynamo?.stop();
    throw error;
  }
}

function listen(app: import('express').Express, port: number, host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host, (error?: Error) => (error ? reject(error) : resolve(server)));
  });
}

async function closeServer(server: Server, timeoutMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const force = setTimeout(() => server.closeAllConnections(), timeoutMs);
  await closed;
  clearTimeout(force);
}
