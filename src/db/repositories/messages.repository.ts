/**
 * Stores normalised WhatsApp messages idempotently: the contact, the conversation and the message in
 * one transaction, the message guarded by its identity's unique constraint, so a re-run job changes
 * nothing. Reactions, revokes and edits are stored as messages too and applied to their target; when
 * they arrive before the target, the target's own transaction applies them (and any early receipts).
 */
import { sql, type Transaction } from 'kysely';
import type { NormalizedMessage } from '../../whatsapp/message.types.js';
import type { Database } from '../database.js';
import type { DB, Message, ReplyState } from '../schema.js';
import { lockIdentity, type MessageIdentity } from './message-identity.js';
import { applyPendingReceipts } from './receipts.repository.js';

export interface StoreOutcome {
  isNew: boolean;
  /** The stored row, new or found (null only if it vanished, e.g. its tenant was deleted). */
  messageId: string | null;
  conversationId: string;
  replyState: ReplyState | null;
  /**
   * While the message waits for a reply: the message whose reply job will answer it (and the rest of
   * its burst). Equal to `messageId` when this message armed the job, so its store must schedule it.
   */
  replyJobMessageId: string | null;
}

export interface StoreOptions {
  /** Stores the message as waiting for a reply (the reply job decides later whether to answer). */
  awaitsReply: boolean;
  /** When the webhook received it: orders messages that share a WhatsApp timestamp second. */
  receivedAt?: Date;
}

export interface MessagesRepository {
  store(tenantId: string, message: NormalizedMessage, options?: StoreOptions): Promise<StoreOutcome>;
  findByIdentity(identity: MessageIdentity): Promise<Message | undefined>;
  listByConversation(tenantId: string, remoteJid: string): Promise<Message[]>;
}

const ACTION_KINDS = new Set(['reaction', 'revoke', 'edit']);

export function createMessagesRepository(db: Database): MessagesRepository {
  return {
    store: (tenantId, message, options = { awaitsReply: false }) =>
      db.transaction().execute((trx) => storeInTransaction(trx, tenantId, message, options)),
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
  const identity: MessageIdentity = { tenantId, remoteJid: m.remoteJid, waMessageId: m.waMessageId, fromMe: m.fromMe };
  await lockIdentity(trx, identity);
  const target = m.target && ACTION_KINDS.has(m.kind) ? m.target : null;
  if (target) await lockIdentity(trx, { tenantId, remoteJid: m.remoteJid, waMessageId: target.id, fromMe: target.fromMe });

  const contactId = await upsertContact(trx, tenantId, m);
  // The upsert also locks the conversation row until commit: a reply job's claim waits for it.
  const conversation = await upsertConversation(trx, tenantId, m, contactId);
  const conversationId = conversation.id;

  const inserted = await trx
    .insertInto('messages')
    .values({
      tenant_id: tenantId,
      conversation_id: conversationId,
      remote_jid: m.remoteJid,
      wa_message_id: m.waMessageId,
      from_me: m.fromMe,
      sender_jid: m.senderJid,
      participant: m.participant,
      kind: m.kind,
      content_type: m.contentType,
      text: m.text,
      media: m.media ? JSON.stringify(m.media) : null,
      location: m.location ? JSON.stringify(m.location) : null,
      contacts: m.contacts ? JSON.stringify(m.contacts) : null,
      quoted_wa_message_id: m.quotedMessageId,
      target_wa_message_id: target?.id ?? null,
      target_from_me: target?.fromMe ?? null,
      sent_at: m.sentAt,
      status: m.status,
      reply_state: options.awaitsReply ? 'pending' : null,
      received_at: options.receivedAt ?? null,
      // Our own send posted back by the gateway: link it to its outbox row, so it does not read as a
      // person typing on the business phone.
      outbox_id: m.fromMe
        ? sql<string | null>`(select id from outbox where tenant_id = ${tenantId} and wa_message_id = ${m.waMessageId} limit 1)`
        : null,
    })
    .onConflict((oc) => oc.constraint('messages_identity').doNothing())
    .returningAll()
    .executeTakeFirst();
  if (!inserted) {
    const existing = await trx
      .selectFrom('messages')
      .select(['id', 'reply_state'])
      .where('tenant_id', '=', tenantId)
      .where('remote_jid', '=', m.remoteJid)
      .where('wa_message_id', '=', m.waMessageId)
      .where('from_me', '=', m.fromMe)
      .executeTakeFirst();
    const replyState = existing?.reply_state ?? null;
    return {
      isNew: false,
      messageId: existing?.id ?? null,
      conversationId,
      replyState,
      replyJobMessageId: replyState === 'pending' ? conversation.replyJobMessageId : null,
    };
  }

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
  await applyPendingReceipts(trx, identity, inserted.id);
  const replyJobMessageId = inserted.reply_state === 'pending' ? await armReplyJob(trx, conversation, inserted.id) : null;
  return { isNew: true, messageId: inserted.id, conversationId, replyState: inserted.reply_state, replyJobMessageId };
}

/**
 * The first unanswered message of a burst arms the conversation's reply job; later ones join it. The
 * conversation row is locked by this transaction's upsert, so the value read there is current.
 */
async function armReplyJob(trx: Transaction<DB>, conversation: UpsertedConversation, messageId: string): Promise<string> {
  if (conversation.replyJobMessageId !== null) return conversation.replyJobMessageId;
  await trx.updateTable('conversations').set({ reply_job_message_id: messageId }).where('id', '=', conversation.id).execute();
  return messageId;
}

/** The contact is the person on the other side: the group member who wrote, or the 1:1 chat partner. */
async function upsertContact(trx: Transaction<DB>, tenantId: string, m: NormalizedMessage): Promise<string | null> {
  if (m.chatType === 'newsletter' || m.chatType === 'broadcast') return null;
  if (m.fromMe && m.chatType !== 'direct') return null;
  const jid = m.fromMe ? m.remoteJid : m.senderJid;
  // On our own messages, pushName is the business's name, not the customer's.
  const pushName = m.fromMe ? null : m.pushName;
  const phone = m.fromMe ? null : m.senderPhone;
  const row = await trx
    .insertInto('contacts')
    .values({ tenant_id: tenantId, jid, phone, push_name: pushName })
    .onConflict((oc) =>
      oc.columns(['tenant_id', 'jid']).doUpdateSet({
        phone: sql`coalesce(excluded.phone, contacts.phone)`,
        push_name: sql`coalesce(excluded.push_name, contacts.push_name)`,
        updated_at: sql`now()`,
      }),
    )
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

interface UpsertedConversation {
  id: string;
  replyJobMessageId: string | null;
}

async function upsertConversation(
  trx: Transaction<DB>,
  tenantId: string,
  m: NormalizedMessage,
  contactId: string | null,
): Promise<UpsertedConversation> {
  const row = await trx
    .insertInto('conversations')
    .values({
      tenant_id: tenantId,
      remote_jid: m.remoteJid,
      chat_type: m.chatType,
      contact_id: m.chatType === 'direct' ? contactId : null,
      last_message_at: m.sentAt,
    })
    .onConflict((oc) =>
      oc.columns(['tenant_id', 'remote_jid']).doUpdateSet({
        last_message_at: sql`greatest(conversations.last_message_at, excluded.last_message_at)`,
        contact_id: sql`coalesce(conversations.contact_id, excluded.contact_id)`,
      }),
    )
    .returning(['id', 'reply_job_message_id'])
    .executeTakeFirstOrThrow();
  return { id: row.id, replyJobMessageId: row.reply_job_message_id };
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
