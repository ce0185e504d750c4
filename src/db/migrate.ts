/**
 * Applies pending migrations, each in its own transaction, under a PostgreSQL advisory lock so that
 * several processes starting together (api, worker, scheduler) never race to apply the same one.
 */
import { sql } from 'kysely';
import type { Logger } from '../lib/logger.js';
import type { Database } from './database.js';
import { MIGRATIONS } from './migrations/index.js';

const MIGRATION_LOCK_ID = 727_001;

export async function migrate(db: Database, log?: Logger): Promise<number[]> {
  return db.connection().execute(async (conn) => {
    await sql`select pg_advisory_lock(${MIGRATION_LOCK_ID})`.execute(conn);
    try {
      await sql`
        create table if not exists schema_migrations (
          version integer primary key,
          name text not null,
          applied_at timestamptz not null default now()
        )`.execute(conn);
      const applied = new Set(
        (await conn.selectFrom('schema_migrations').select('version').execute()).map((r) => r.version),
      );
      const done: number[] = [];
      for (const migration of MIGRATIONS) {
        if (applied.has(migration.version)) continue;
        await conn.transaction().execute(async (trx) => {
          await sql.raw(migration.up).execute(trx);
          await trx.insertInto('schema_migrations').values({ version: migration.version, name: migration.name }).execute();
        });
        log?.info({ version: migration.version, name: migration.name }, 'Migration applied');
        done.push(migration.version);
      }
      return done;
    } finally {
      await sql`select pg_advisory_unlock(${MIGRATION_LOCK_ID})`.execute(conn);
    }
  });
}
