/**
 * Lets Kysely's PostgreSQL dialect drive PGlite, the embedded PostgreSQL used when DATABASE_URL is
 * unset. PGlite is a single connection, so the "pool" hands out one client at a time: a transaction
 * holds it until it commits, and concurrent jobs queue behind it instead of interleaving statements.
 */
import { PGlite, types } from '@electric-sql/pglite';
import type { PostgresPool, PostgresPoolClient, PostgresQueryResult } from 'kysely';

type Command = PostgresQueryResult<unknown>['command'];

export class PGlitePool implements PostgresPool {
  private readonly waiters: Array<() => void> = [];
  private isBusy = false;

  constructor(readonly pglite: PGlite) {}

  static async open(dataDir: string): Promise<PGlitePool> {
    // bigint (ids, counts) as a string, as the pg driver returns it: PGlite's default, a JS number,
    // would reach the job payload schemas (which expect ids as strings) and fail every reply job.
    return new PGlitePool(await PGlite.create(dataDir, { parsers: { [types.INT8]: (value: string) => value } }));
  }

  async connect(): Promise<PostgresPoolClient> {
    if (this.isBusy) await new Promise<void>((resolve) => this.waiters.push(resolve));
    this.isBusy = true;
    const pglite = this.pglite;
    let isReleased = false;
    const client = {
      query: async <R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>> => {
        // Parameterless SQL may hold several statements (migrations): that needs the simple protocol.
        const result =
          parameters.length === 0
            ? ((await pglite.exec(sql)).at(-1) ?? { rows: [], fields: [] })
            : await pglite.query<R>(sql, [...parameters]);
        return {
          command: (result.command ?? 'SELECT') as Command,
          rowCount: result.rowCount ?? result.affectedRows ?? result.rows.length,
          rows: result.rows as R[],
        };
      },
      release: () => {
        if (isReleased) return;
        isReleased = true;
        this.release();
      },
    };
    return client as PostgresPoolClient;
  }

  private release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.isBusy = false;
  }

  async end(): Promise<void> {
    await this.pglite.close();
  }
}
