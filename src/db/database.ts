/**
 * The database: PostgreSQL through `pg` when DATABASE_URL is set, otherwise the embedded PGlite under
 * DATA_DIR. Both are driven by the same Kysely dialect, so every query and migration is the same SQL.
 * Only this folder imports a database driver.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { PreparedStatementPool } from './prepared-statement-pool.js';
import type { DB } from './schema.js';

export type Database = Kysely<DB>;

// pg returns `bigint` (int8) as a string by default: ids stay strings, counts are cast in SQL.
// Timestamps come back as Date; jsonb as parsed JSON.

export interface DatabaseHandle {
  db: Database;
  isEmbedded: boolean;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  url: string | undefined;
  dataDir: string;
  poolSize: number;
}

export async function openDatabase(options: DatabaseOptions): Promise<DatabaseHandle> {
  if (options.url) {
    const pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize,
      connectionTimeoutMillis: 5000,
      idleTimeoutMillis: 30_000,
    });
    // A dropped idle connection emits 'error' on the pool; without a listener it would crash the process.
    pool.on('error', () => undefined);
    // A connection dropped while checked out (mid-query or mid-transaction: PostgreSQL restarted, the
    // network cut) emits 'error' on the client itself, which the pool does not listen to while the client
    // is lent out: unhandled, it would crash the process. The in-flight query is rejected anyway (the job
    // retries) and the pool discards the broken client on release, so the event needs no handling here.
    pool.on('connect', (client) => client.on('error', () => undefined));
    const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool: new PreparedStatementPool(pool) }) });
    return { db, isEmbedded: false, ping: () => ping(db), close: () => db.destroy() };
  }
  const dir = join(options.dataDir, 'pglite');
  mkdirSync(dir, { recursive: true });
  // Loaded only here: a deployment on PostgreSQL never carries the embedded database in memory.
  const { PGlitePool } = await import('./pglite-pool.js');
  const pool = await PGlitePool.open(dir);
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  return { db, isEmbedded: true, ping: () => ping(db), close: () => db.destroy() };
}

async function ping(db: Database): Promise<void> {
  await sql`select 1`.execute(db);
}
