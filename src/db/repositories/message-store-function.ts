/**
 * The TypeScript side of `switchboard_store_message` (migration 0007): the identity lock, contact,
 * conversation, message and reply-job arming in one statement. Called for one message, or for a
 * batch of messages in one statement (each row calls the function in turn, in the caller's order).
 */
import { sql, type Transaction } from 'kysely';
import type { NormalizedMessage } from '../../whatsapp/message.types.js';
import type { Database } from '../database.js';
import type { DB, ReplyState } from '../schema.js';
import { identityLockKey } from './message-identity.js';

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

const ACTION_KINDS = new Set(['reaction', 'revoke', 'edit']);

/** A reaction, revoke or edit: stored as a message and applied to its target. */
export function isAction(m: NormalizedMessage): boolean {
  return m.target !== null && ACTION_KINDS.has(m.kind);
}

/** The function's arguments for one message, in its parameter order. */
export interface StoreArguments {
  lockKey: string;
  tenantId: string;
  remoteJid: string;
  waMessageId: string;
  fromMe: boolean;
  chatType: string;
  contactJid: string | null;
  contactPhone: string | null;
  contactPushName: string | null;
  senderJid: string;
  participant: string | null;
  kind: string;
  contentType: string | null;
  text: string | null;
  media: string | null;
  location: string | null;
  contacts: string | null;
  quotedMessageId: string | null;
  targetId: string | null;
  targetFromMe: boolean | null;
  sentAt: Date;
  status: number | null;
  awaitsReply: boolean;
  receivedAt: Date | null;
}

export function storeArguments(tenantId: string, m: NormalizedMessage, options: StoreOptions): StoreArguments {
  const contact = contactOf(m);
  const target = isAction(m) ? m.target : null;
  const json = (value: unknown): string | null => (value ? JSON.stringify(value) : null);
  return {
    lockKey: identityLockKey({ tenantId, remoteJid: m.remoteJid, waMessageId: m.waMessageId, fromMe: m.fromMe }),
    tenantId,
    remoteJid: m.remoteJid,
    waMessageId: m.waMessageId,
    fromMe: m.fromMe,
    chatType: m.chatType,
    contactJid: contact?.jid ?? null,
    contactPhone: contact?.phone ?? null,
    contactPushName: contact?.pushName ?? null,
    senderJid: m.senderJid,
    participant: m.participant,
    kind: m.kind,
    contentType: m.contentType,
    text: m.text,
    media: json(m.media),
    location: json(m.location),
    contacts: json(m.contacts),
    quotedMessageId: m.quotedMessageId,
    targetId: target?.id ?? null,
    targetFromMe: target?.fromMe ?? null,
    sentAt: m.sentAt,
    status: m.status,
    awaitsReply: options.awaitsReply,
    receivedAt: options.receivedAt ?? null,
  };
}

/** The contact is the person on the other side: the group member who wrote, or the 1:1 chat partner. */
function contactOf(m: NormalizedMessage): { jid: string; phone: string | null; pushName: string | null } | null {
  if (m.chatType === 'newsletter' || m.chatType === 'broadcast') return null;
  if (m.fromMe && m.chatType !== 'direct') return null;
  // On our own messages, pushName is the business's name, not the customer's.
  if (m.fromMe) return { jid: m.remoteJid, phone: null, pushName: null };
  return { jid: m.senderJid, phone: m.senderPhone, pushName: m.pushName };
}

interface StoreFunctionRow {
  o_slow: boolean;
  o_is_new: boolean;
  o_message_id: string | null;
  o_conversation_id: string | null;
  o_reply_state: ReplyState | null;
  o_reply_job_message_id: string | null;
}

/** The function's answer; undefined when it asked for the transactional path (it wrote nothing). */
function outcomeOf(row: StoreFunctionRow | undefined): StoreOutcome | undefined {
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

/**
 * Stores one message. With `fastOnly`, returns undefined (and writes nothing) when the message needs
 * the transactional path: receipts or reactions/edits/revokes arrived before it.
 */
export async function callStoreFunction(executor: Database | Transaction<DB>, a: StoreArguments, fastOnly: boolean): Promise<StoreOutcome | undefined> {
  const { rows } = await sql<StoreFunctionRow>`select * from switchboard_store_message(
    ${a.lockKey}, ${fastOnly},
    ${a.tenantId}, ${a.remoteJid}, ${a.waMessageId}, ${a.fromMe}, ${a.chatType},
    ${a.contactJid}, ${a.contactPhone}, ${a.contactPushName},
    ${a.senderJid}, ${a.participant}, ${a.kind}, ${a.contentType}, ${a.text},
    ${a.media}::jsonb, ${a.location}::jsonb, ${a.contacts}::jsonb, ${a.quotedMessageId},
    ${a.targetId}, ${a.targetFromMe}::boolean,
    ${a.sentAt}::timestamptz, ${a.status}::smallint, ${a.awaitsReply}, ${a.receivedAt}::timestamptz)`.execute(executor);
  return outcomeOf(rows[0]);
}

interface StoreFunctionBatchRow extends StoreFunctionRow {
  o_ord: number;
}

/**
 * Stores several messages in one statement, fast path only (`switchboard_store_messages`, migration
 * 0011): all their identity locks first, then each message in the given order. Answers in that order.
 */
export async function callStoreFunctionForEach(db: Database, batch: ReadonlyArray<StoreArguments>): Promise<Array<StoreOutcome | undefined>> {
  const column = <K extends keyof StoreArguments>(key: K): Array<StoreArguments[K]> => batch.map((a) => a[key]);
  const { rows } = await sql<StoreFunctionBatchRow>`select * from switchboard_store_messages(
    ${column('lockKey')}::text[], ${column('tenantId')}::text[], ${column('remoteJid')}::text[],
    ${column('waMessageId')}::text[], ${column('fromMe')}::boolean[], ${column('chatType')}::text[],
    ${column('contactJid')}::text[], ${column('contactPhone')}::text[], ${column('contactPushName')}::text[],
    ${column('senderJid')}::text[], ${column('participant')}::text[], ${column('kind')}::text[],
    ${column('contentType')}::text[], ${column('text')}::text[], ${column('media')}::text[],
    ${column('location')}::text[], ${column('contacts')}::text[], ${column('quotedMessageId')}::text[],
    ${column('targetId')}::text[], ${column('targetFromMe')}::boolean[], ${column('sentAt')}::timestamptz[],
    ${column('status')}::smallint[], ${column('awaitsReply')}::boolean[], ${column('receivedAt')}::timestamptz[])`.execute(db);
  if (rows.length !== batch.length) throw new Error(`switchboard_store_messages answered ${rows.length} of ${batch.length} messages`);
  const outcomes = new Array<StoreOutcome | undefined>(batch.length);
  for (const row of rows) outcomes[row.o_ord - 1] = outcomeOf(row);
  return outcomes;
}
