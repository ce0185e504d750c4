/**
 * The outbox's lifecycle after the reply is committed: each send attempt is counted; a send the
 * gateway accepted is recorded with its WhatsApp id (and stored as an outbound message, so receipts
 * and the AI's history see it); a permanent refusal is recorded with its reason. Only an operator's
 * retry of its failed send job re-arms a failed row (`rearmFailed`), before the job runs again.
 */
import { sql, type Transaction } from 'kysely';
import type { Database } from '../database.js';
import type { DB, OutboxRow } from '../schema.js';
import { identityLockKey } from './message-identity.js';
import { applyPendingReceipts } from './receipts.repository.js';

export type OutboxRearmResult =
  | { outcome: 'rearmed' }
  /** Nothing to re-arm: pending (already re-armed) or sent (never sent twice). */
  | { outcome: 'not_failed'; state: OutboxRow['state'] }
  /** A broadcast's row: re-armed with its recipient, by the broadcasts repository. */
  | { outcome: 'broadcast' }
  | { outcome: 'not_found' };

export interface OutboxRepository {
  find(tenantId: string, outboxId: string): Promise<OutboxRow | undefined>;
  recordAttempt(outboxId: string, error: string | null): Promise<void>;
  /** Returns the id of the outbound message row that now stands for the send. */
  markSent(outbox: OutboxRow, waMessageId: string): Promise<string>;
  markFailed(outboxId: string, reason: string): Promise<void>;
  /** failed → pending for a reply or reminder row: the same row, so the same idempotency key. */
  rearmFailed(tenantId: string, outboxId: string): Promise<OutboxRearmResult>;
  listForConversation(tenantId: string, conversationId: string): Promise<OutboxRow[]>;
}

export function createOutboxRepository(db: Database): OutboxRepository {
  return {
    find: (tenantId, outboxId) =>
      db.selectFrom('outbox').selectAll().where('tenant_id', '=', tenantId).where('id', '=', outboxId).executeTakeFirst(),

    recordAttempt: async (outboxId, error) => {
      await db
        .updateTable('outbox')
        .set({ attempts: sql`attempts + 1`, last_error: error })
        .where('id', '=', outboxId)
        .execute();
    },

    markSent: async (outbox, waMessageId) => {
      // Usually one statement; receipts that beat the send to us need the transaction that applies them.
      const fast = await callMarkSent(db, outbox, waMessageId, { fastOnly: true });
      if (fast) return fast;
      return db.transaction().execute(async (trx) => {
        const messageId = await callMarkSent(trx, outbox, waMessageId, { fastOnly: false });
        if (!messageId) throw new Error('switchboard_mark_sent asked for the slow path twice');
        await applyPendingReceipts(trx, { tenantId: outbox.tenant_id, remoteJid: outbox.to_jid, waMessageId, fromMe: true }, messageId);
        return messageId;
      });
    },

    markFailed: async (outboxId, reason) => {
      await db
        .updateTable('outbox')
        .set({ state: 'failed', last_error: reason })
        .where('id', '=', outboxId)
        .where('state', '=', 'pending')
        .execute();
    },

    rearmFailed: async (tenantId, outboxId) => {
      const rearmed = await db
        .updateTable('outbox')
        .set({ state: 'pending' })
        .where('tenant_id', '=', tenantId)
        .where('id', '=', outboxId)
        .where('state', '=', 'failed')
        .where('broadcast_recipient_id', 'is', null)
        .returning('id')
        .executeTakeFirst();
      if (rearmed) return { outcome: 'rearmed' };
      const row = await db
        .selectFrom('outbox')
        .select(['state', 'broadcast_recipient_id'])
        .where('tenant_id', '=', tenantId)
        .where('id', '=', outboxId)
        .executeTakeFirst();
      if (!row) return { outcome: 'not_found' };
      if (row.broadcast_recipient_id !== null && row.state === 'failed') return { outcome: 'broadcast' };
      return { outcome: 'not_failed', state: row.state };
    },

    listForConversation: (tenantId, conversationId) =>
      db.selectFrom('outbox').selectAll().where('tenant_id', '=', tenantId).where('conversation_id', '=', conversationId).orderBy('id').execute(),
  };
}

/**
 * `switchboard_mark_sent` (migration 0010): the outbox row sent, the outbound message stored or
 * linked (the gateway also posts our own send back as a fromMe upsert; whichever arrives first
 * stores the row, and both link it to the outbox so it never reads as a person typing), the
 * conversation's last activity. Returns the message id, or undefined when `fastOnly` found receipts
 * waiting for this message (nothing written).
 */
async function callMarkSent(
  executor: Database | Transaction<DB>,
  outbox: OutboxRow,
  waMessageId: string,
  { fastOnly }: { fastOnly: boolean },
): Promise<string | undefined> {
  const lockKey = identityLockKey({ tenantId: outbox.tenant_id, remoteJid: outbox.to_jid, waMessageId, fromMe: true });
  const { rows } = await sql<{ o_slow: boolean; o_message_id: string | null }>`select * from switchboard_mark_sent(
    ${lockKey}, ${fastOnly}, ${outbox.id}, ${outbox.tenant_id}, ${outbox.conversation_id}, ${outbox.to_jid}, ${outbox.text},
    ${outbox.quoted_wa_message_id}, ${waMessageId})`.execute(executor);
  const row = rows[0];
  if (!row) throw new Error('switchboard_mark_sent returned no row');
  if (row.o_slow) return undefined;
  if (!row.o_message_id) throw new Error('switchboard_mark_sent stored no message');
  return row.o_message_id;
}
