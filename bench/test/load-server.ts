import { buildServer } from '@leonidas/server/testing';
import type { TestProject } from 'vitest/node';
import { type LoadServer, startLoadServer } from '../load/server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    loadServerUrl: string;
    loadServerPid: number;
  }
}

/**
 * One built server for the load test, started before it and stopped after it by its PID, whether the test
 * passed, failed or timed out. Should the runner itself go down, the exit hook still sends SIGTERM, so the
 * server stops its DynamoDB Local and object store rather than leave them running.
 */
export default async function setup(project: TestProject) {
  buildServer();
  const server: LoadServer = await startLoadServer();
  const killOnExit = () => {
    try {
      process.kill(server.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  };
  process.once('exit', killOnExit);
  project.provide('loadServerUrl', server.url);
  project.provide('loadServerPid', server.pid);
  return async () => {
    process.off('exit', killOnExit);
    await server.stop();
  };
}
