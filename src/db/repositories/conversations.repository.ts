/** Conversations: the chats of a tenant, their AI override and summary, and what the AI sees of them. */
import { sql } from 'kysely';
import type { Database } from '../database.js';
import type { Conversation, Message } from '../schema.js';

export interface Page {
  limit: number;
  offset: number;
}

export interface ConversationsRepository {
  /** Scoped by tenant: an id of another tenant's conversation is simply not found. */
  find(tenantId: string, conversationId: string): Promise<Conversation | undefined>;
  list(tenantId: string, page: Page): Promise<{ items: Conversation[]; total: number }>;
  listMessages(tenantId: string, conversationId: string, page: Page): Promise<{ items: Message[]; total: number }>;
  setAiEnabled(tenantId: string, conversationId: string, aiEnabled: boolean | null): Promise<Conversation | undefined>;
  setSummary(tenantId: string, conversationId: string, summary: string): Promise<void>;
  /** The last `limit` messages, oldest first, for the AI's context. */
  recentMessages(conversationId: string, limit: number): Promise<Message[]>;
  /** The newest message id of the conversation (for the summary's idle debounce). */
  newestMessageId(conversationId: string): Promise<string | null>;
  /**
   * What a reply job needs besides the history, in one query: the conversation, when a person last
   * wrote from the business phone (a fromMe message that is not one of our sends), and the push name
   * `customerJid` last gave.
   */
  replyContext(tenantId: string, conversationId: string, customerJid: string | null): Promise<ReplyContext | undefined>;
}

export interface ReplyContext {
  conversation: Conversation;
  lastHumanMessageAt: Date | null;
  customerName: string | null;
}

export function createConversationsRepository(db: Database): ConversationsRepository {
  return {
    replyContext: async (tenantId, conversationId, customerJid) => {
      const row = await db
        .selectFrom('conversations as c')
        .selectAll('c')
        .select((eb) => [
          eb
            .selectFrom('messages as m')
            .select(sql<Date | null>`max(m.sent_at)`.as('at'))
            .whereRef('m.conversation_id', '=', 'c.id')
            .where('m.from_me', '=', true)
            .where('m.outbox_id', 'is', null)
            .as('last_human_message_at'),
          eb
            .selectFrom('contacts as k')
            .select('k.push_name')
            .whereRef('k.tenant_id', '=', 'c.tenant_id')
            .where('k.jid', '=', customerJid ?? '')
            .as('customer_name'),
        ])
        .where('c.tenant_id', '=', tenantId)
        .where('c.id', '=', conversationId)
        .executeTakeFirst();
      if (!row) return undefined;
      const { last_human_message_at: lastHumanMessageAt, customer_name: customerName, ...conversation } = row;
      return { conversation, lastHumanMessageAt: lastHumanMessageAt ?? null, customerName: customerJid ? (customerName ?? null) : null };
    },

    find: (tenantId, conversationId) =>
      db.selectFrom('conversations').selectAll().where('tenant_id', '=', tenantId).where('id', '=', conversationId).executeTakeFirst(),

    list: async (tenantId, page) => {
      const [items, total] = await Promise.all([
        db
          .selectFrom('conversations')
          .selectAll()
          .where('tenant_id', '=', tenantId)
          .orderBy(sql`last_message_at desc nulls last`)
          .orderBy('id', 'desc')
          .limit(page.limit)
          .offset(page.offset)
          .execute(),
        db.selectFrom('conversations').select(sql<string>`count(*)`.as('n')).where('tenant_id', '=', tenantId).executeTakeFirstOrThrow(),
      ]);
      return { items, total: Number(total.n) };
    },

    listMessages: async (tenantId, conversationId, page) => {
      const [items, total] = await Promise.all([
        db
          .selectFrom('messages')
          .selectAll()
          .where('tenant_id', '=', tenantId)
          .where('conversation_id', '=', conversationId)
          .orderBy('sent_at', 'desc')
          .orderBy('id', 'desc')
          .limit(page.limit)
          .offset(page.offset)
          .execute(),
        db
          .selectFrom('messages')
          .select(sql<string>`count(*)`.as('n'))
          .where('tenant_id', '=', tenantId)
          .where('conversation_id', '=', conversationId)
          .executeTakeFirstOrThrow(),
      ]);
      return { items, total: Number(total.n) };
    },

    setAiEnabled: (tenantId, conversationId, aiEnabled) =>
      db
        .updateTable('conversations')
        .set({ ai_enabled: aiEnabled })
        .where('tenant_id', '=', tenantId)
        .where('id', '=', conversationId)
        .returningAll()
        .executeTakeFirst(),

    setSummary: async (tenantId, conversationId, summary) => {
      await db
        .updateTable('conversations')
        .set({ summary, summary_updated_at: new Date() })
        .where('tenant_id', '=', tenantId)
        .where('id', '=', conversationId)
        .execute();
    },

    recentMessages: async (conversationId, limit) => {
      const newestFirst = await db
        .selectFrom('messages')
        .selectAll()
        .where('conversation_id', '=', conversationId)
        .where('kind', 'not in', ['reaction', 'revoke', 'edit'])
        .where('deleted_at', 'is', null)
        .orderBy('sent_at', 'desc')
        .orderBy(sql`received_at desc nulls first`)
        .orderBy('id', 'desc')
        .limit(limit)
        .execute();
      return newestFirst.reverse();
    },

    newestMessageId: async (conversationId) => {
      const row = await db
        .selectFrom('messages')
        .select('id')
        .where('conversation_id', '=', conversationId)
        .orderBy('id', 'desc')
        .limit(1)
        .executeTakeFirst();
      return row?.id ?? null;
    },
  };
}
