import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';

/**
 * DuckDB's zone for times with a zone is the process's (TZ) unless set: previews, profiles and answers would then
 * differ between a laptop and the cloud (UTC), and a day or month boundary would move with the server. It cannot be
 * given when the instance is created, so each connection sets it.
 */
export const UTC_SESSION = "SET TimeZone = 'UTC'";

export interface DuckDbOptions {
  memoryLimit: string;
  threads: number;
  tempDirectory: string;
}

/**
 * One in-process DuckDB for the whole server, created on first use; each job gets its own connection.
 * Its memory is capped and it spills to `tempDirectory`, so a large file cannot exhaust the server.
 */
export class Analytics {
  private instance: Promise<DuckDBInstance> | undefined;
  private readonly connections = new Set<DuckDBConnection>();

  constructor(private readonly options: DuckDbOptions) {}

  async withConnection<T>(work: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
    this.instance ??= DuckDBInstance.create(':memory:', {
      memory_limit: this.options.memoryLimit,
      threads: String(this.options.threads),
      temp_directory: this.options.tempDirectory,
      // Only local files the server wrote itself are read; nothing is fetched or installed.
      autoinstall_known_extensions: 'false',
      autoload_known_extensions: 'false',
    });
    const connection = await (await this.instance).connect();
    // Times with a zone read and print in UTC, whatever zone the server runs in (see `UTC_SESSION`).
    await connection.run(UTC_SESSION);
    this.connections.add(connection);
    try {
      return await work(connection);
    } finally {
      this.connections.delete(connection);
      connection.closeSync();
    }
  }

  /** Stops the statements running now: they fail with DuckDB's INTERRUPT error. */
  interrupt(): void {
    for (const connection of this.connections) connection.interrupt();
  }

  async close(): Promise<void> {
    const instance = await this.instance;
    instance?.closeSync();
    this.instance = undefined;
  }
}

/** A SQL string literal. */
export const sqlString = (value: string) => `'${value.replaceAll("'", "''")}'`;
/** A SQL identifier. */
export const sqlIdentifier = (value: string) => `"${value.replaceAll('"', '""')}"`;
