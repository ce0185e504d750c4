/**
 * The outbox's lifecycle after the reply is committed: each send attempt is counted; a send the
 * gateway accepted is recorded with its WhatsApp id (and stored as an outbound message, so receipts
 * and the AI's history see it); a permanent refusal is recorded with its reason.
 */
import { sql } from 'kysely';
import type { Database } from '../database.js';
import type { OutboxRow } from '../schema.js';
import { lockIdentity } from './message-identity.js';
import { applyPendingReceipts } from './receipts.repository.js';

export interface OutboxRepository {
  find(tenantId: string, outboxId: string): Promise<OutboxRow | undefined>;
  recordAttempt(outboxId: string, error: string | null): Promise<void>;
  /** Returns the id of the outbound message row that now stands for the send. */
  markSent(outbox: OutboxRow, waMessageId: string): Promise<string>;
  markFailed(outboxId: string, reason: string): Promise<void>;
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

    listForConversation: (tenantId, conversationId) =>
      db.selectFrom('outbox').selectAll().where('tenant_id', '=', tenantId).where('conversation_id', '=', conversationId).orderBy('id').execute(),
  };
}
