/** Kysely's view of the tables in `migrations/`. Keep in step with them. */
import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type Json<T> = ColumnType<T, string, string>;
/** bigserial ids come back from `pg` as strings (they can exceed 2^53); they stay strings. */

export interface TenantsTable {
  id: string;
  name: string;
  timezone: Generated<string>;
  webhook_secret: string | null;
  ai_enabled: Generated<boolean>;
  system_prompt: string | null;
  reply_template: ColumnType<string | null, string | null | undefined, string | null>;
  voice_note_reply: ColumnType<string | null, string | null | undefined, string | null>;
  groups_enabled: Generated<boolean>;
  /** Broadcast sends per minute; null: BROADCAST_RATE_PER_MINUTE. */
  broadcast_rate_per_minute: ColumnType<number | null, number | null | undefined, number | null>;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface ContactsTable {
  id: Generated<string>;
  tenant_id: string;
  jid: string;
  phone: string | null;
  push_name: string | null;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface ConversationsTable {
  id: Generated<string>;
  tenant_id: string;
  remote_jid: string;
  chat_type: string;
  contact_id: ColumnType<string | null, string | null | undefined, string | null>;
  last_message_at: Timestamp | null;
  /** null: follow the tenant's setting. */
  ai_enabled: ColumnType<boolean | null, boolean | null | undefined, boolean | null>;
  summary: ColumnType<string | null, string | null | undefined, string | null>;
  summary_updated_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  /** The message whose reply job will answer the conversation's pending messages; null when none is armed. */
  reply_job_message_id: ColumnType<string | null, string | null | undefined, string | null>;
  created_at: CreatedAt;
}

export interface MessagesTable {
  id: Generated<string>;
  tenant_id: string;
  conversation_id: ColumnType<string, string, never>;
  remote_jid: string;
  wa_message_id: string;
  from_me: boolean;
  sender_jid: string;
  participant: string | null;
  kind: string;
  content_type: string | null;
  text: string | null;
  media: Json<unknown> | null;
  location: Json<unknown> | null;
  contacts: Json<unknown> | null;
  quoted_wa_message_id: string | null;
  target_wa_message_id: string | null;
  target_from_me: boolean | null;
  reactions: ColumnType<Record<string, string>, string | undefined, string>;
  sent_at: Timestamp;
  status: number | null;
  server_ack_at: Timestamp | null;
  delivered_at: Timestamp | null;
  read_at: Timestamp | null;
  played_at: Timestamp | null;
  deleted_at: Timestamp | null;
  edited_at: Timestamp | null;
  /** For inbound messages that may be answered: pending → claimed → answered | skipped | failed. */
  reply_state: ColumnType<ReplyState | null, ReplyState | null | undefined, ReplyState | null>;
  reply_claimed_by: ColumnType<string | null, string | null | undefined, string | null>;
  reply_note: ColumnType<string | null, string | null | undefined, string | null>;
  outbox_id: ColumnType<string | null, string | null | undefined, string | null>;
  /** When the webhook received it (null for messages we sent ourselves). */
  received_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  created_at: CreatedAt;
}

export type ReplyState = 'pending' | 'claimed' | 'answered' | 'skipped' | 'failed';
export type OutboxState = 'pending' | 'sent' | 'failed';

export interface OutboxTable {
  id: Generated<string>;
  tenant_id: string;
  conversation_id: string;
  to_jid: string;
  text: string;
  purpose: string;
  reply_to_message_id: string | null;
  quoted_wa_message_id: string | null;
  state: ColumnType<OutboxState, OutboxState | undefined, OutboxState>;
  wa_message_id: string | null;
  attempts: Generated<number>;
  last_error: string | null;
  created_at: CreatedAt;
  sent_at: Timestamp | null;
  /** The reminder this row sends (unique: one send per reminder, ever); null for replies. */
  reminder_id: ColumnType<string | null, string | null | undefined, string | null>;
  /** The broadcast recipient this row sends (unique: one send per recipient, ever). */
  broadcast_recipient_id: ColumnType<string | null, string | null | undefined, string | null>;
}

/**
 * pending → queued (its outbox row exists; the outbox tells sent or failed) | missed | cancelled.
 * See migrations/0004-reminders.ts for why `queued` is the reminder's last own state.
 */
export type ReminderState = 'pending' | 'queued' | 'missed' | 'cancelled';

export interface RemindersTable {
  id: Generated<string>;
  tenant_id: string;
  to_jid: string;
  text: string;
  due_at: Timestamp;
  state: ColumnType<ReminderState, ReminderState | undefined, ReminderState>;
  outbox_id: ColumnType<string | null, string | null | undefined, string | null>;
  /** Why a reminder was not sent (missed), for the operator. */
  note: ColumnType<string | null, string | null | undefined, string | null>;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

/** See migrations/0005-broadcasts.ts. */
export type BroadcastState = 'pending' | 'running' | 'paused' | 'completed' | 'cancelled';
export type BroadcastRecipientState = 'pending' | 'sent' | 'failed' | 'skipped';

export interface BroadcastsTable {
  id: Generated<string>;
  tenant_id: string;
  name: string;
  text: string;
  state: ColumnType<BroadcastState, BroadcastState | undefined, BroadcastState>;
  total: number;
  duplicates_removed: ColumnType<number, number | undefined, number>;
  rate_per_minute: ColumnType<number | null, number | null | undefined, number | null>;
  created_at: CreatedAt;
  started_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  finished_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface BroadcastRecipientsTable {
  id: Generated<string>;
  broadcast_id: string;
  tenant_id: string;
  to_jid: string;
  state: ColumnType<BroadcastRecipientState, BroadcastRecipientState | undefined, BroadcastRecipientState>;
  outbox_id: ColumnType<string | null, string | null | undefined, string | null>;
  error: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface MessageReceiptsTable {
  message_id: string;
  user_jid: string;
  status: number;
  delivered_at: Timestamp | null;
  read_at: Timestamp | null;
  played_at: Timestamp | null;
}

export interface PendingReceiptsTable {
  id: Generated<string>;
  tenant_id: string;
  remote_jid: string;
  wa_message_id: string;
  from_me: boolean;
  user_jid: Generated<string>;
  status: number;
  status_at: Timestamp | null;
  created_at: CreatedAt;
}

export interface SchemaMigrationsTable {
  version: number;
  name: string;
  applied_at: CreatedAt;
}

export interface DB {
  tenants: TenantsTable;
  contacts: ContactsTable;
  conversations: ConversationsTable;
  messages: MessagesTable;
  message_receipts: MessageReceiptsTable;
  pending_receipts: PendingReceiptsTable;
  outbox: OutboxTable;
  reminders: RemindersTable;
  broadcasts: BroadcastsTable;
  broadcast_recipients: BroadcastRecipientsTable;
  schema_migrations: SchemaMigrationsTable;
}

export type Tenant = Selectable<TenantsTable>;
export type NewTenant = Insertable<TenantsTable>;
export type TenantUpdate = Updateable<TenantsTable>;
export type Message = Selectable<MessagesTable>;
export type Conversation = Selectable<ConversationsTable>;
export type Contact = Selectable<ContactsTable>;
export type OutboxRow = Selectable<OutboxTable>;
export type Reminder = Selectable<RemindersTable>;
export type Broadcast = Selectable<BroadcastsTable>;
export type BroadcastRecipient = Selectable<BroadcastRecipientsTable>;
