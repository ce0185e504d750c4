/**
 * Batched stores against a real PostgreSQL: concurrent stores share statements (one transaction id
 * per batch), every message is stored once with the same answers as one at a time (duplicates,
 * reply arming), a message that cannot be stored fails alone, and a message that needs the
 * transactional path still gets it.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database.js';
import { normalizedTextMessage } from '../../../test/support/fixtures.js';
import { waitFor } from '../../../test/support/wait.js';
import { openDatabase, type DatabaseHandle } from '../database.js';
import { identityLockKey } from './message-identity.js';
import { createMessagesRepository, type MessagesRepository } from './messages.repository.js';

let database: TestDatabase;
let handle: DatabaseHandle;
let messages: MessagesRepository;

const chat = (n: number) => `49151000${String(n).padStart(5, '0')}@s.whatsapp.net`;
const group = '120363000000000001@g.us';

beforeAll(async () => {
  database = await createTestDatabase();
  await database.query(`insert into tenants (id, name) values ('t1', 'Tenant one')`);
  handle = await openDatabase({ url: database.url, dataDir: '/nonexistent', poolSize: 4 });
  messages = createMessagesRepository(handle.db, { batchStores: true });
});

afterAll(async () => {
  await handle.close();
  await database.drop();
});

describe('batched message stores', () => {
  it('stores concurrent messages in shared statements, each once, arming one reply job per conversation', async () => {
    // 60 messages from 12 chats and a group, with 6 of them delivered twice at the same moment.
    const stores = Array.from({ length: 60 }, (_, i) => {
      const message = i % 5 === 4 ? { ...normalizedTextMessage(`B${i}`, group), chatType: 'group' as const, participant: chat(i % 12), senderJid: chat(i % 12) } : normalizedTextMessage(`B${i}`, chat(i % 12));
      return { message, awaitsReply: i % 5 !== 4 };
    });
    const again = stores.filter((_, i) => i % 10 === 0);
    const outcomes = await Promise.all([...stores, ...again].map(({ message, awaitsReply }) => messages.store('t1', message, { awaitsReply })));

    const rows = await database.query<{ wa_message_id: string; id: string; conversation_id: string; reply_state: string | null; xmin: string }>(
      `select wa_message_id, id::text, conversation_id::text, reply_state, xmin::text from messages where wa_message_id like 'B%'`,
    );
    expect(rows).toHaveLength(60);
    // Shared statements: far fewer transactions than messages.
    expect(new Set(rows.map((row) => row.xmin)).size).toBeLessThanOrEqual(10);

    const byWaId = new Map(rows.map((row) => [row.wa_message_id, row]));
    stores.forEach(({ message }, i) => {
      expect(outcomes[i]).toMatchObject({ isNew: true, messageId: byWaId.get(message.waMessageId)?.id });
    });
    again.forEach(({ message }, j) => {
      expect(outcomes[60 + j]).toMatchObject({ isNew: false, messageId: byWaId.get(message.waMessageId)?.id });
    });
    // Each direct chat's pending messages all name the same armed message: one of them.
    for (let c = 0; c < 12; c += 1) {
      const own = stores.map((store, i) => ({ store, outcome: outcomes[i] })).filter(({ store }) => store.message.remoteJid === chat(c) && store.awaitsReply);
      const armed = new Set(own.map(({ outcome }) => outcome?.replyJobMessageId));
      expect(armed.size).toBe(1);
      expect(own.map(({ outcome }) => outcome?.messageId)).toContain([...armed][0]);
    }
  });

  it('fails only the message that cannot be stored; the others of its batch are stored', async () => {
    const good = [normalizedTextMessage('F1', chat(90)), normalizedTextMessage('F2', chat(91)), normalizedTextMessage('F3', chat(92))];
    const results = await Promise.allSettled([
      ...good.map((message) => messages.store('t1', message, { awaitsReply: true })),
      // An unknown tenant breaks the foreign key: the batch statement fails as a whole.
      messages.store('no-such-tenant', normalizedTextMessage('F4', chat(93)), { awaitsReply: true }),
    ]);
    expect(results.slice(0, 3).map((result) => result.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    expect(results[3]).toMatchObject({ status: 'rejected', reason: expect.objectContaining({ message: expect.stringContaining('foreign key') }) });
    const stored = await database.query<{ wa_message_id: string }>(`select wa_message_id from messages where wa_message_id like 'F%' order by 1`);
    expect(stored.map((row) => row.wa_message_id)).toEqual(['F1', 'F2', 'F3']);
  });

  it('hands a message whose receipt arrived first to the transactional path, inside a batch', async () => {
    await database.query(`insert into pending_receipts (tenant_id, remote_jid, wa_message_id, from_me, status) values ('t1', $1, 'R1', false, 4)`, [chat(80)]);
    const [early, plain] = await Promise.all([
      messages.store('t1', normalizedTextMessage('R1', chat(80)), { awaitsReply: true }),
      messages.store('t1', normalizedTextMessage('R2', chat(81)), { awaitsReply: true }),
    ]);
    expect(early.isNew).toBe(true);
    expect(plain.isNew).toBe(true);
    const [row] = await database.query<{ status: number }>(`select status from messages where wa_message_id = 'R1'`);
    expect(row?.status).toBe(4);
    expect(await database.query(`select 1 from pending_receipts where wa_message_id = 'R1'`)).toEqual([]);
  });

  it('stores reactions racing their targets without a deadlock: every store succeeds, every reaction lands', async () => {
    // A reaction locks its target's identity, then its own, then the rows; a batch takes all its
    // identities first. 20 targets and their 20 reactions, all at once, in 4 chats.
    const targets = Array.from({ length: 20 }, (_, i) => normalizedTextMessage(`T${i}`, chat(70 + (i % 4))));
    const reactions = targets.map((target, i) => ({
      ...normalizedTextMessage(`RX${i}`, target.remoteJid),
      kind: 'reaction' as const,
      text: '👍',
      target: { remoteJid: target.remoteJid, id: target.waMessageId, fromMe: false },
    }));
    const interleaved = targets.flatMap((target, i) => [target, reactions[i] as typeof target]);
    const results = await Promise.allSettled(interleaved.map((message) => messages.store('t1', message, { awaitsReply: message.kind === 'text' })));
    expect(results.filter((result) => result.status === 'rejected')).toEqual([]);
    const reacted = await database.query<{ wa_message_id: string; reactions: Record<string, string> }>(
      `select wa_message_id, reactions from messages where wa_message_id like 'T%' order by wa_message_id`,
    );
    expect(reacted).toHaveLength(20);
    for (const row of reacted) expect(Object.values(row.reactions)).toEqual(['👍']);
  });

  it('takes every identity lock before any row lock, so a reaction holding one of them finishes first', async () => {
    // The reaction's order: its target's identity, then the conversation. Played by hand on another
    // connection: hold T's identity, let a batch with M and T (same chat) start, then take the
    // conversation row. A batch that had locked the conversation for M before waiting on T would
    // leave this waiting (a deadlock PostgreSQL breaks only after a second); with the identities
    // taken first, the batch holds no row yet and the conversation is free.
    const remoteJid = chat(60);
    await messages.store('t1', normalizedTextMessage('L0', remoteJid), { awaitsReply: false });
    const reaction = new pg.Client({ connectionString: database.url });
    await reaction.connect();
    try {
      await reaction.query('begin');
      await reaction.query(`set local lock_timeout = '500ms'`);
      await reaction.query('select pg_advisory_xact_lock(hashtextextended($1, 0))', [identityLockKey({ tenantId: 't1', remoteJid, waMessageId: 'L2', fromMe: false })]);
      const stores = Promise.all([
        messages.store('t1', normalizedTextMessage('L1', remoteJid), { awaitsReply: false }),
        messages.store('t1', normalizedTextMessage('L2', remoteJid), { awaitsReply: false }),
      ]);
      // pg_locks spans the cluster: only this file's database counts.
      const waitingInThisDatabase = `select 1 from pg_locks where locktype = 'advisory' and not granted
        and database = (select oid from pg_database where datname = current_database())`;
      await waitFor(async () => (await database.query(waitingInThisDatabase)).length > 0, { what: 'the batch waiting on the held identity' });
      await reaction.query('select 1 from conversations where tenant_id = $1 and remote_jid = $2 for update', ['t1', remoteJid]);
      await reaction.query('commit');
      expect((await stores).map((outcome) => outcome.isNew)).toEqual([true, true]);
    } finally {
      await reaction.end();
    }
  });
});
