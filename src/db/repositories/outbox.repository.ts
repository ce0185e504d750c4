/**
 * The outbox's lifecycle after the reply is committed: each send attempt is counted; a send the
 * gateway accepted is recorded with its WhatsApp id (and stored as an outbound message, so receipts
 * and the AI's history see it); a permanent refusal is recorded with its reason. Only an operator's
 * retry of its failed send job re-arms a failed row (`rearmFailed`), before the job runs again.
 */
import { sql } from 'kysely';
import type { Database } from '../database.js';
import type { OutboxRow } from '../schema.js';
import { lockIdentity } from './message-identity.js';
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

    markSent: (outbox, waMessageId) =>
      db.transaction().execute(async (trx) => {
        const identity = { tenantId: outbox.tenant_id, remoteJid: outbox.to_jid, waMessageId, fromMe: true };
        await lockIdentity(trx, identity);
        const now = new Date();
        await trx
          .updateTable('outbox')
          .set({ state: 'sent', wa_message_id: waMessageId, sent_at: now, last_error: null })
          .where('id', '=', outbox.id)
          .where('state', '=', 'pending')
          .execute();
        // The gateway also posts our own send back as a fromMe upsert; whichever arrives first
        // stores the row, and both link it to the outbox so it never reads as a person typing.
        const message = await trx
          .insertInto('messages')
          .values({
            tenant_id: outbox.tenant_id,
            conversation_id: outbox.conversation_id,
            remote_jid: outbox.to_jid,
            wa_message_id: waMessageId,
            from_me: true,
            sender_jid: outbox.to_jid,
            participant: null,
            kind: 'text',
            content_type: 'conversation',
            text: outbox.text,
            media: null,
            location: null,
            contacts: null,
            quoted_wa_message_id: outbox.quoted_wa_message_id,
            target_wa_message_id: null,
            target_from_me: null,
            sent_at: now,
            status: 1,
            outbox_id: outbox.id,
          })
          .onConflict((oc) => oc.constraint('messages_identity').doUpdateSet({ outbox_id: outbox.id }))
          .returning('id')
          .executeTakeFirstOrThrow();
        await applyPendingReceipts(trx, identity, message.id);
        await trx
          .updateTable('conversations')
          .set({ last_message_at: sql`greatest(last_message_at, ${now})` })
          .where('id', '=', outbox.conversation_id)
          .execute();
        return message.id;
      }),

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
