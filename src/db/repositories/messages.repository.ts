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
import { identityLockKey, lockIdentity, type MessageIdentity } from './message-identity.js';
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
    store: async (tenantId, message, options = { awaitsReply: false }) => {
      // Most messages take one round trip; a reaction, revoke or edit, or a message something arrived
      // ahead of, is stored in a transaction that also applies what belongs to it.
      if (!isAction(message)) {
        const fast = await callStoreFunction(db, tenantId, message, options, { fastOnly: true });
        if (fast) return fast;
      }
      return db.transaction().execute((trx) => storeInTransaction(trx, tenantId, message, options));
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

function isAction(m: NormalizedMessage): boolean {
  return m.target !== null && ACTION_KINDS.has(m.kind);
}

interface StoreFunctionRow {
  o_slow: boolean;
  o_is_new: boolean;
  o_message_id: string | null;
  o_conversation_id: string | null;
  o_reply_state: ReplyState | null;
  o_reply_job_message_id: string | null;
}

/**
 * Calls `switchboard_store_message` (migration 0007): the identity lock, contact, conversation,
 * message and reply-job arming in one statement. With `fastOnly`, returns undefined (and writes
 * nothing) when the message needs the transactional path.
 */
async function callStoreFunction(
  executor: Database | Transaction<DB>,
  tenantId: string,
  m: NormalizedMessage,
  options: StoreOptions,
  { fastOnly }: { fastOnly: boolean },
): Promise<StoreOutcome | undefined> {
  const contact = contactOf(m);
  const target = isAction(m) ? m.target : null;
  const json = (value: unknown): string | null => (value ? JSON.stringify(value) : null);
  const { rows } = await sql<StoreFunctionRow>`select * from switchboard_store_message(
    ${identityLockKey({ tenantId, remoteJid: m.remoteJid, waMessageId: m.waMessageId, fromMe: m.fromMe })}, ${fastOnly},
    ${tenantId}, ${m.remoteJid}, ${m.waMessageId}, ${m.fromMe}, ${m.chatType},
    ${contact?.jid ?? null}, ${contact?.phone ?? null}, ${contact?.pushName ?? null},
    ${m.senderJid}, ${m.participant}, ${m.kind}, ${m.contentType}, ${m.text},
    ${json(m.media)}::jsonb, ${json(m.location)}::jsonb, ${json(m.contacts)}::jsonb, ${m.quotedMessageId},
    ${target?.id ?? null}, ${target?.fromMe ?? null}::boolean,
    ${m.sentAt}::timestamptz, ${m.status}::smallint, ${options.awaitsReply}, ${options.receivedAt ?? null}::timestamptz)`.execute(executor);
  const row = rows[0];
  if (!row) throw new Error('switchboard_store_message returned no row');
  if (row.o_slow) return undefined;
  if (!row.o_conversation_id) throw new Error('switchboard_store_message returned no conversation');
  return {
    isNew: row.o_is_new,
    messageId: row.o_message_id,
    conversationId: row.o_conversation_id,
    replyState: row.o_reply_state,
    replyJobMessageId: row.o_reply_job_message_id,
  };
}

async function storeInTransaction(trx: Transaction<DB>, tenantId: string, m: NormalizedMessage, options: StoreOptions): Promise<StoreOutcome> {
  // An action locks its target's identity before the function locks its own and then the conversation
  // row: the target's own store takes the target's lock, then the same row, so the two queue up in one
  // order and never deadlock.
  const target = isAction(m) ? m.target : null;
  if (target) await lockIdentity(trx, { tenantId, remoteJid: m.remoteJid, waMessageId: target.id, fromMe: target.fromMe });
  const outcome = await callStoreFunction(trx, tenantId, m, options, { fastOnly: false });
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

/** The contact is the person on the other side: the group member who wrote, or the 1:1 chat partner. */
function contactOf(m: NormalizedMessage): { jid: string; phone: string | null; pushName: string | null } | null {
  if (m.chatType === 'newsletter' || m.chatType === 'broadcast') return null;
  if (m.fromMe && m.chatType !== 'direct') return null;
  // On our own messages, pushName is the business's name, not the customer's.
  if (m.fromMe) return { jid: m.remoteJid, phone: null, pushName: null };
  return { jid: m.senderJid, phone: m.senderPhone, pushName: m.pushName };
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
