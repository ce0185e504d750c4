/** A fresh PostgreSQL database per test file, cloned from the migrated template. */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';

export const PG_HOST = '127.0.0.1';
export const ADMIN_DATABASE_URL = `postgres://postgres@${PG_HOST}:5432/postgres`;

export function databaseUrl(name: string): string {
  return `postgres://postgres@${PG_HOST}:5432/${name}`;
}

export interface TestDatabase {
  name: string;
  url: string;
  /** Runs one query on a short-lived connection (for assertions). */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<R[]>;
  drop(): Promise<void>;
}

async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `switchboard_test_${randomBytes(6).toString('hex')}`;
  // Two files cloning the template at the same instant can collide ("being accessed by other users").
  for (let attempt = 1; ; attempt += 1) {
    try {
      await withAdmin((c) => c.query(`CREATE DATABASE ${name} TEMPLATE ${inject('templateDatabase')}`));
      break;
    } catch (error) {
      if (attempt >= 10) throw error;
      await new Promise((r) => setTimeout(r, 100 * attempt));
    }
  }
  const url = databaseUrl(name);
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  // DROP … WITH (FORCE) terminates idle clients; that is expected, not an error.
  pool.on('error', () => undefined);
  return {
    name,
    url,
    async query<R extends pg.QueryResultRow>(text: string, values: unknown[] = []) {
      return (await pool.query<R>(text, values)).rows;
    },
    async drop() {
      await pool.end();
      await withAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}
