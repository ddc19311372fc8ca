import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Delimiter } from '@leonidas/db';
import { PARQUET_CONTENT_TYPE } from '../file/keys.js';
import type { Storage } from '../storage/s3.js';

/** A file's table as queries need it: which file, where its CSV and its Parquet copy live in storage. */
export interface TableFile {
  fileId: string;
  objectKey: string;
  tableKey: string;
  delimiter: Delimiter;
}

/**
 * Local copies of the files' Parquet tables, for the query engine (a locked-down DuckDB reads local files
 * only). A table is fetched from storage on first use (or built there from the CSV, for a file processed
 * before tables existed) and kept under `directory`; past `maxBytes`, the least recently used go, though never
 * one used in the last minute (a query may still be reading it). Any server instance can answer any query.
 */
export class TableCache {
  private readonly entries = new Map<string, { path: string; bytes: number; usedAt: number }>();
  private readonly fetching = new Map<string, Promise<string>>();

  constructor(
    private readonly options: {
      directory: string;
      maxBytes: number;
      storage: Storage;
      /** Builds the Parquet copy from the CSV at `csvPath`, for a file that has none in storage yet. */
      buildFromCsv: (file: TableFile, csvPath: string, tablePath: string) => Promise<unknown>;
    },
  ) {
    mkdirSync(options.directory, { recursive: true, mode: 0o700 });
    for (const name of readdirSync(options.directory)) {
      const path = join(options.directory, name);
      const fileId = /^(.+)\.parquet$/.exec(name)?.[1];
      // A fetch cut off by a restart leaves its work folder behind.
      if (!fileId) rmSync(path, { recursive: true, force: true });
      else this.entries.set(fileId, { path, bytes: statSync(path).size, usedAt: 0 });
    }
  }

  /** The local path of the file's table, fetched (or built) once however many queries ask at the same time. */
  async pathOf(file: TableFile): Promise<string> {
    const entry = this.entries.get(file.fileId);
    // Someone may have cleared the cache folder under a running server (to free disk): fetched again then.
    if (entry && existsSync(entry.path)) {
      entry.usedAt = Date.now();
      return entry.path;
    }
    this.entries.delete(file.fileId);
    const pending = this.fetching.get(file.fileId) ?? this.fetch(file);
    this.fetching.set(file.fileId, pending);
    try {
      return await pending;
    } finally {
      this.fetching.delete(file.fileId);
    }
  }

  /** Takes in a table just written (by processing), so its first query needs no download. */
  async adopt(fileId: string, path: string): Promise<void> {
    await this.place(fileId, path);
  }

  async forget(fileId: string): Promise<void> {
    const entry = this.entries.get(fileId);
    this.entries.delete(fileId);
    if (entry) await rm(entry.path, { force: true });
  }

  private async fetch(file: TableFile): Promise<string> {
    await mkdir(this.options.directory, { recursive: true, mode: 0o700 });
    // Beside the tables, so that the finished copy is moved into place, not copied.
    const workDir = await mkdtemp(join(this.options.directory, '.fetch-'));
    try {
      const tablePath = join(workDir, 'table.parquet');
      const { storage } = this.options;
      if ((await storage.size(file.tableKey)) !== null) {
        await storage.downloadToFile(file.tableKey, tablePath, { maxBytes: Number.MAX_SAFE_INTEGER });
      } else {
        const csvPath = join(workDir, 'file.csv');
        await storage.downloadToFile(file.objectKey, csvPath, { maxBytes: Number.MAX_SAFE_INTEGER });
        await this.options.buildFromCsv(file, csvPath, tablePath);
        await storage.uploadFile(file.tableKey, tablePath, PARQUET_CONTENT_TYPE);
      }
      return await this.place(file.fileId, tablePath);
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  }

  private async place(fileId: string, source: string): Promise<string> {
    const path = join(this.options.directory, `${fileId}.parquet`);
    await rename(source, path).catch(async (error: unknown) => {
      // From another file system (processing's temp folder): copied, then the source dropped.
      if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
      await copyFile(source, path);
      await rm(source, { force: true });
    });
    this.entries.set(fileId, { path, bytes: statSync(path).size, usedAt: Date.now() });
    await this.evict();
    return path;
  }

  private async evict(): Promise<void> {
    let total = [...this.entries.values()].reduce((sum, entry) => sum + entry.bytes, 0);
    const recent = Date.now() - 60_000;
    const oldestFirst = [...this.entries.entries()].sort(([, a], [, b]) => a.usedAt - b.usedAt);
    for (const [fileId, entry] of oldestFirst) {
      if (total <= this.options.maxBytes || entry.usedAt > recent) break;
      this.entries.delete(fileId);
      total -= entry.bytes;
      await rm(entry.path, { force: true });
    }
  }
}
