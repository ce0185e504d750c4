/**
 * Against a real PostgreSQL: the hot path's function calls are prepared once per connection and
 * reused, with the same answers as before; other statements are not prepared.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/support/database.js';
import { normalizedTextMessage } from '../../test/support/fixtures.js';
import { openDatabase, type DatabaseHandle } from './database.js';
import { createMessagesRepository } from './repositories/messages.repository.js';

let database: TestDatabase;
let handle: DatabaseHandle;

const message = (waMessageId: string) => normalizedTextMessage(waMessageId);

/** The prepared statements of the handle's one pooled connection. */
async function preparedStatements(): Promise<Array<{ name: string; statement: string }>> {
  const { rows } = await sql<{ name: string; statement: string }>`select name, statement from pg_prepared_statements order by name`.execute(handle.db);
  return rows;
}

beforeAll(async () => {
  database = await createTestDatabase();
  await database.query(`insert into tenants (id, name) values ('t1', 'Tenant one')`);
  // One connection, so every statement below runs on the session whose prepared statements we read.
  handle = await openDatabase({ url: database.url, dataDir: '/nonexistent', poolSize: 1 });
});

afterAll(async () => {
  await handle.close();
  await database.drop();
});

describe('PreparedStatementPool', () => {
  it('prepares a call of our function once per connection and reuses it, with the same results', async () => {
    const messages = createMessagesRepository(handle.db);
    const first = await messages.store('t1', message('P1'), { awaitsReply: true });
    const second = await messages.store('t1', message('P2'), { awaitsReply: true });
    const again = await messages.store('t1', message('P1'), { awaitsReply: true });

    expect(first).toMatchObject({ isNew: true, replyState: 'pending', replyJobMessageId: first.messageId });
    expect(second).toMatchObject({ isNew: true, conversationId: first.conversationId, replyJobMessageId: first.messageId });
    expect(again).toMatchObject({ isNew: false, messageId: first.messageId });

    const prepared = await preparedStatements();
    expect(prepared).toHaveLength(1);
    expect(prepared[0]?.name).toMatch(/^switchboard_[0-9a-f]{20}$/);
    expect(prepared[0]?.statement).toContain('select * from switchboard_store_message(');
  });

  it('leaves other statements unprepared', async () => {
    await handle.db.selectFrom('messages').select('id').where('tenant_id', '=', 't1').execute();
    await sql`select count(*) from conversations`.execute(handle.db);
    expect((await preparedStatements()).map((row) => row.statement)).toEqual([expect.stringContaining('switchboard_store_message')]);
  });
});
