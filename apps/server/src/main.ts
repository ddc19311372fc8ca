import { loadServerEnv } from './env.js';
import { startServer } from './server.js';

async function main(): Promise<void> {
  // Everything this server and the processes it starts (DynamoDB Local) write is for its owner's eyes only.
  process.umask(0o077);
  const env = loadServerEnv();
  const server = await startServer(env);
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    server.logger.info({ signal }, 'shutting down');
    server.close().then(
      () => {
        server.logger.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        server.logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((error: unknown) => {
  // Configuration and start-up problems are for a person to read, not a stack trace.
  const message = error instanceof Error ? error.message : String(error);
  console.error(`Leonidas could not start.\n${message}`);
  process.exit(1);
});
