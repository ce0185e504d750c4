/** Conversations: the chats of a tenant, their AI override and summary, and what the AI sees of them. */
import { sql } from 'kysely';
import type { Database } from '../database.js';
import type { Conversation, Message, Tenant } from '../schema.js';

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
   * What a reply job needs, in one query: the conversation and its tenant's reply settings, when a
   * person last wrote from the business phone (a fromMe message that is not one of our sends), the
   * push name `customerJid` last gave, and the last `historyLimit` messages (as `recentMessages` picks
   * them) for the AI.
   */
  replyContext(tenantId: string, conversationId: string, customerJid: string | null, historyLimit: number): Promise<ReplyContext | undefined>;
}

/** What the AI's chat turns are made of (see chat-history.ts). */
export type HistoryMessage = Pick<Message, 'from_me' | 'kind' | 'text'>;

/** The tenant's settings a reply reads. */
export type ReplyTenant = Pick<Tenant, 'name' | 'ai_enabled' | 'groups_enabled' | 'system_prompt' | 'reply_template' | 'voice_note_reply'>;

export interface ReplyContext {
  tenant: ReplyTenant;
  conversation: Conversation;
  lastHumanMessageAt: Date | null;
  customerName: string | null;
  /** Oldest first. */
  history: HistoryMessage[];
}

export function createConversationsRepository(db: Database): ConversationsRepository {
  return {
    replyContext: async (tenantId, conversationId, customerJid, historyLimit) => {
      const row = await db
        .selectFrom('conversations as c')
        .innerJoin('tenants as t', 't.id', 'c.tenant_id')
        .selectAll('c')
        .select([
          't.name as tenant_name',
          't.ai_enabled as tenant_ai_enabled',
          't.groups_enabled as tenant_groups_enabled',
          't.system_prompt as tenant_system_prompt',
          't.reply_template as tenant_reply_template',
          't.voice_note_reply as tenant_voice_note_reply',
        ])
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
          // The history in the same round trip, in recentMessages' order (the newest `historyLimit`,
          // then oldest first), as JSON: it is a list inside one row.
          sql<HistoryMessage[]>`(
            select coalesce(jsonb_agg(jsonb_build_object('from_me', h.from_me, 'kind', h.kind, 'text', h.text)
                                      order by h.sent_at, h.received_at nulls last, h.id), '[]'::jsonb)
              from (select m.from_me, m.kind, m.text, m.sent_at, m.received_at, m.id
                      from messages m
                     where m.conversation_id = c.id and m.kind not in ('reaction', 'revoke', 'edit') and m.deleted_at is null
                     order by m.sent_at desc, m.received_at desc nulls first, m.id desc
                     limit ${historyLimit}) h)`.as('history'),
        ])
        .where('c.tenant_id', '=', tenantId)
        .where('c.id', '=', conversationId)
        .executeTakeFirst();
      if (!row) return undefined;
      const {
        last_human_message_at: lastHumanMessageAt,
        customer_name: customerName,
        history,
        tenant_name: name,
        tenant_ai_enabled: aiEnabled,
        tenant_groups_enabled: groupsEnabled,
        tenant_system_prompt: systemPrompt,
        tenant_reply_template: replyTemplate,
        tenant_voice_note_reply: voiceNoteReply,
        ...conversation
      } = row;
      return {
        tenant: {
          name,
          ai_enabled: aiEnabled,
          groups_enabled: groupsEnabled,
          system_prompt: systemPrompt,
          reply_template: replyTemplate,
          voice_note_reply: voiceNoteReply,
        },
        conversation,
        lastHumanMessageAt: lastHumanMessageAt ?? null,
        customerName: customerJid ? (customerName ?? null) : null,
        history,
      };
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
