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
  /** When a person last wrote from the business phone (a fromMe message that is not one of our sends). */
  lastHumanMessageAt(conversationId: string): Promise<Date | null>;
  /** The push name a contact last gave, if any. */
  contactName(tenantId: string, jid: string): Promise<string | null>;
  /** The newest message id of the conversation (for the summary's idle debounce). */
  newestMessageId(conversationId: string): Promise<string | null>;
}

export function createConversationsRepository(db: Database): ConversationsRepository {
  return {
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

    lastHumanMessageAt: async (conversationId) => {
      const row = await db
        .selectFrom('messages')
        .select(sql<Date | null>`max(sent_at)`.as('at'))
        .where('conversation_id', '=', conversationId)
        .where('from_me', '=', true)
        .where('outbox_id', 'is', null)
        .executeTakeFirst();
      return row?.at ?? null;
    },

    contactName: async (tenantId, jid) => {
      const row = await db.selectFrom('contacts').select('push_name').where('tenant_id', '=', tenantId).where('jid', '=', jid).executeTakeFirst();
      return row?.push_name ?? null;
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
