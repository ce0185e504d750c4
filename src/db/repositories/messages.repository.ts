/**
 * Stores normalised WhatsApp messages idempotently: the contact, the conversation and the message in
 * one transaction, the message guarded by its identity's unique constraint, so a re-run job changes
 * nothing. Reactions, revokes and edits are stored as messages too and applied to their target; when
 * they arrive before the target, the target's own transaction applies them (and any early receipts).
 */
import { sql, type Transaction } from 'kysely';
import type { NormalizedMessage } from '../../whatsapp/message.types.js';
import type { Database } from '../database.js';
import type { DB, Message } from '../schema.js';
import { lockIdentity, type MessageIdentity } from './message-identity.js';
import { MessageStoreBatcher } from './message-store-batcher.js';
import { callStoreFunction, isAction, storeArguments, type StoreOptions, type StoreOutcome } from './message-store-function.js';
import { applyPendingReceipts } from './receipts.repository.js';

export type { StoreOptions, StoreOutcome } from './message-store-function.js';

export interface MessagesRepository {
  store(tenantId: string, message: NormalizedMessage, options?: StoreOptions): Promise<StoreOutcome>;
  findByIdentity(identity: MessageIdentity): Promise<Message | undefined>;
  listByConversation(tenantId: string, remoteJid: string): Promise<Message[]>;
}

export interface MessagesRepositoryOptions {
  /** Store concurrent messages together, one statement per event-loop turn (PostgreSQL only). */
  batchStores: boolean;
}

export function createMessagesRepository(db: Database, options: MessagesRepositoryOptions = { batchStores: false }): MessagesRepository {
  const batcher = options.batchStores ? new MessageStoreBatcher(db) : undefined;
  return {
    store: async (tenantId, message, storeOptions = { awaitsReply: false }) => {
      // Most messages take one statement (shared with the other messages stored at the same moment);
      // a reaction, revoke or edit, or a message something arrived ahead of, is stored in a
      // transaction that also applies what belongs to it.
      if (!isAction(message)) {
        const args = storeArguments(tenantId, message, storeOptions);
        const fast = batcher ? await batcher.store(args) : await callStoreFunction(db, args, true);
        if (fast) return fast;
      }
      return db.transaction().execute((trx) => storeInTransaction(trx, tenantId, message, storeOptions));
    },
    findByIdentity: (identity) =>
      db
        .selectFrom('messages')
        .selectAll()
        .where('tenant_id', '=', identity.tenantId)
        .where('remote_jid', '=', identity.remoteJid)
        .where('wa_message_id', '=', identity.waMessageId)
        .where('from_me', '=', identity.fromMe)
        .executeTakeFirst(),
    listByConversation: (tenantId, remoteJid) =>
      db
        .selectFrom('messages')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where('remote_jid', '=', remoteJid)
        .orderBy('sent_at')
        .orderBy('id')
        .execute(),
  };
}

async function storeInTransaction(trx: Transaction<DB>, tenantId: string, m: NormalizedMessage, options: StoreOptions): Promise<StoreOutcome> {
  // An action locks its target's identity before the function locks its own and then the conversation
  // row: the target's own store takes the target's lock, then the same row, so the two queue up in one
  // order and never deadlock.
  const target = isAction(m) ? m.target : null;
  if (target) await lockIdentity(trx, { tenantId, remoteJid: m.remoteJid, waMessageId: target.id, fromMe: target.fromMe });
  const outcome = await callStoreFunction(trx, storeArguments(tenantId, m, options), false);
  if (!outcome) throw new Error('switchboard_store_message asked for the slow path twice');
  if (!outcome.isNew || !outcome.messageId) return outcome;
  const inserted = await trx.selectFrom('messages').selectAll().where('id', '=', outcome.messageId).executeTakeFirstOrThrow();

  if (target) {
    const targetRow = await trx
      .selectFrom('messages')
      .select('id')
      .where('tenant_id', '=', tenantId)
      .where('remote_jid', '=', m.remoteJid)
      .where('wa_message_id', '=', target.id)
      .where('from_me', '=', target.fromMe)
      .executeTakeFirst();
    if (targetRow) await applyAction(trx, inserted, targetRow.id);
  }
  // Actions that arrived before this message (a reaction replayed ahead of its target).
  const earlyActions = await trx
    .selectFrom('messages')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('remote_jid', '=', m.remoteJid)
    .where('target_wa_message_id', '=', m.waMessageId)
    .where('target_from_me', '=', m.fromMe)
    .orderBy('sent_at')
    .execute();
  for (const action of earlyActions) await applyAction(trx, action, inserted.id);
  await applyPendingReceipts(trx, { tenantId, remoteJid: m.remoteJid, waMessageId: m.waMessageId, fromMe: m.fromMe }, inserted.id);
  return outcome;
}

/** Applies a stored reaction, revoke or edit to its target row. Each is idempotent. */
async function applyAction(trx: Transaction<DB>, action: Message, targetId: string): Promise<void> {
  switch (action.kind) {
    case 'reaction': {
      const reactor = action.from_me ? 'me' : action.sender_jid;
      const reactions = action.text
        ? sql<string>`reactions || jsonb_build_object(${reactor}::text, ${action.text}::text)`
        : sql<string>`reactions - ${reactor}::text`;
      await trx.updateTable('messages').set({ reactions }).where('id', '=', targetId).execute();
      return;
    }
    case 'revoke':
      await trx
        .updateTable('messages')
        .set({ deleted_at: sql`coalesce(deleted_at, ${action.sent_at})` })
        .where('id', '=', targetId)
        .execute();
      return;
    case 'edit':
      // The latest edit wins, whatever order the edits are applied in.
      await trx
        .updateTable('messages')
        .set({ text: action.text, edited_at: action.sent_at })
        .where('id', '=', targetId)
        .where((eb) => eb.or([eb('edited_at', 'is', null), eb('edited_at', '<=', action.sent_at)]))
        .execute();
      return;
    default:
      return;
  }
}
