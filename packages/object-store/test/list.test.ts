import type { PathLike } from 'node:fs';
import path from 'node:path';
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { BUCKET, startTestStore, type TestStore } from './helpers.js';

/** Every directory the store reads, to see which parts of the bucket a listing walks. */
const directoriesRead = vi.hoisted(() => [] as string[]);

vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  const readdir = (directory: PathLike, ...rest: unknown[]) => {
    directoriesRead.push(String(directory));
    return (actual.readdir as (...args: unknown[]) => unknown)(directory, ...rest);
  };
  return { ...actual, default: { ...actual, readdir }, readdir };
});

let test: TestStore;

beforeAll(async () => {
  test = await startTestStore();
  const keys = [
    ...Array.from({ length: 300 }, (_, index) => `projects/p${index}/files/f`),
    'projects/A/files/1',
    'projects/A/files/2',
    'projects/AB/files/3',
    'projects/A.csv',
  ];
  for (let start = 0; start < keys.length; start += 100) {
    await Promise.all(
      keys
        .slice(start, start + 100)
        .map((Key) => test.client.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: Key }))),
    );
  }
});

afterAll(async () => {
  await test?.stop();
});

async function listWalking(Prefix: string, StartAfter?: string) {
  directoriesRead.length = 0;
  const page = await test.client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix, StartAfter }));
  const bucketDirectory = path.join(test.directory, BUCKET);
  return {
    keys: (page.Contents ?? []).map((object) => object.Key),
    walked: directoriesRead.map((directory) => path.relative(bucketDirectory, directory)),
  };
}

describe('listing a prefix', () => {
  it('reads only the directories that can hold the prefix', async () => {
    expect(await listWalking('projects/A/')).toEqual({
      keys: ['projects/A/files/1', 'projects/A/files/2'],
      walked: ['projects/A', 'projects/A/files'],
    });
  });

  it('reads the parent directory once for a partial last segment', async () => {
    expect(await listWalking('projects/A')).toEqual({
      keys: ['projects/A.csv', 'projects/A/files/1', 'projects/A/files/2', 'projects/AB/files/3'],
      walked: ['projects', 'projects/A', 'projects/A/files', 'projects/AB', 'projects/AB/files'],
    });
  });

  it('skips the directories that sort before StartAfter', async () => {
    expect(await listWalking('projects/', 'projects/p98/files/f')).toMatchObject({
      walked: ['projects', 'projects/p98', 'projects/p98/files', 'projects/p99', 'projects/p99/files'],
    });
  });

  it('reads nothing for a prefix no key can have', async () => {
    expect(await listWalking('../')).toEqual({ keys: [], walked: [] });
    expect(await listWalking('nothing/here/')).toEqual({ keys: [], walked: ['nothing/here'] });
  });
});
