import { loadServerEnv } from './env.js';
import { startServer } from './server.js';

async function main(): Promise<void> {
  // Everything this server and the processes it starts (DynamoDB Local) write is for its owner's eyes only.
  process.umask(0o077);
  const env = loadServerEnv();
  const server = await startServer(env);
  let stopping = false;
  /** Graceful stop: for a signal (exit code 0), or because part of the embedded stack died (exit code 1). */
  const stop = (reason: { signal: NodeJS.Signals } | { failure: Error }) => {
    if (stopping) return;
    stopping = true;
    const exitCode = 'failure' in reason ? 1 : 0;
    if ('failure' in reason)
      server.logger.error({ err: reason.failure }, 'shutting down: the embedded stack failed');
    else server.logger.info(reason, 'shutting down');
    server.close().then(
      () => {
        server.logger.info('stopped');
        process.exit(exitCode);
      },
      (error: unknown) => {
        server.logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', (signal) => stop({ signal }));
  process.on('SIGINT', (signal) => stop({ signal }));
  void server.failed.then((failure) => stop({ failure }));
}

main().catch((error: unknown) => {
  // Configuration and start-up problems are for a person to read, not a stack trace.
  const message = error instanceof Error ? error.message : String(error);
  console.error(`Leonidas could not start.\n${message}`);
  process.exit(1);
});
