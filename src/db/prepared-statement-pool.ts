/**
 * The `pg` pool as Kysely sees it, with the hot path's function calls sent as prepared statements.
 *
 * Every message, claim, reply commit and send goes through one `select * from switchboard_…(…)`
 * statement (migrations 0007–0011). Sent as an unnamed statement, PostgreSQL parses and plans it and
 * describes its result on every call, and `pg` parses that description every time. Named, each
 * connection prepares it once and then only binds and executes: in `npm run bench:store`, storing a
 * message went from 0.38–0.44 to 0.34–0.37 ms of PostgreSQL CPU (two runs each).
 *
 * Only statements that call our own functions are named: their text is fixed by the code, so each
 * connection holds a handful of prepared statements, never one per distinct query. Everything else
 * (Kysely's generated SQL, migrations) goes through unchanged. A prepared statement lives as long as
 * its connection; processes started after a migration open new connections, so a function whose
 * result changes in a later migration is prepared afresh.
 */
import { createHash } from 'node:crypto';
import type { PostgresCursor, PostgresPool, PostgresPoolClient } from 'kysely';
import type pg from 'pg';

const CALLS_OUR_FUNCTION = /^\s*select \* from switchboard_/;

export class PreparedStatementPool implements PostgresPool {
  /** SQL text → statement name, for the statements that are prepared. */
  private readonly names = new Map<string, string>();

  constructor(private readonly pool: pg.Pool) {}

  async connect(): Promise<PostgresPoolClient> {
    const client = await this.pool.connect();
    const query = (sqlOrCursor: string | PostgresCursor<unknown>, parameters?: ReadonlyArray<unknown>): unknown => {
      if (typeof sqlOrCursor !== 'string') return client.query(sqlOrCursor as unknown as pg.Submittable);
      const name = this.nameOf(sqlOrCursor);
      const values = parameters ? [...parameters] : [];
      return name === undefined ? client.query(sqlOrCursor, values) : client.query({ name, text: sqlOrCursor, values });
    };
    return { query, release: (destroy?: boolean) => client.release(destroy) } as PostgresPoolClient;
  }

  end(): Promise<void> {
    return this.pool.end();
  }

  private nameOf(sql: string): string | undefined {
    let name = this.names.get(sql);
    if (name === undefined && CALLS_OUR_FUNCTION.test(sql)) {
      name = `switchboard_${createHash('sha1').update(sql).digest('hex').slice(0, 20)}`;
      this.names.set(sql, name);
    }
    return name;
  }
}
