/**
 * Admin API for a tenant's conversations: list them, read their messages, switch the AI per chat.
 * Scoping is by the tenant id in the path (one admin token serves every tenant), and every query is
 * filtered by it: a conversation id of another tenant is "not found", never its data.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { ConversationsRepository } from '../../db/repositories/conversations.repository.js';
import type { TenantsRepository } from '../../db/repositories/tenants.repository.js';
import type { Conversation, Message, Tenant } from '../../db/schema.js';
import { notFound } from '../../lib/errors.js';
import {
  ConversationListParams,
  ConversationPage,
  ConversationParams,
  ConversationView,
  ErrorResponse,
  MessagePage,
  PageQuery,
  UpdateConversationBody,
  type MessageView,
} from '../schemas/conversation.schema.js';

/** The largest PostgreSQL bigint: a longer id could never exist, and would make the query fail. */
const MAX_ID = 9_223_372_036_854_775_807n;

export function toConversationView(c: Conversation, tenant: Pick<Tenant, 'ai_enabled'>): ConversationView {
  return {
    id: c.id,
    remoteJid: c.remote_jid,
    chatType: c.chat_type,
    aiEnabled: c.ai_enabled,
    effectiveAiEnabled: c.ai_enabled ?? tenant.ai_enabled,
    summary: c.summary,
    lastMessageAt: c.last_message_at?.toISOString() ?? null,
    createdAt: c.created_at.toISOString(),
  };
}

export function toMessageView(m: Message): MessageView {
  return {
    id: m.id,
    waMessageId: m.wa_message_id,
    fromMe: m.from_me,
    kind: m.kind,
    text: m.text,
    senderJid: m.sender_jid,
    sentAt: m.sent_at.toISOString(),
    status: m.status,
    deletedAt: m.deleted_at?.toISOString() ?? null,
    editedAt: m.edited_at?.toISOString() ?? null,
    reactions: m.reactions,
    replyState: m.reply_state,
    replyNote: m.reply_note,
    outboxId: m.outbox_id,
  };
}

export const conversationsRoutes: FastifyPluginAsyncTypebox<{ tenants: TenantsRepository; conversations: ConversationsRepository }> = async (
  app,
  { tenants, conversations },
) => {
  async function findTenant(id: string): Promise<Tenant> {
    const tenant = await tenants.find(id);
    if (!tenant) throw notFound('Tenant');
    return tenant;
  }

  function assertConversationId(cid: string): void {
    if (BigInt(cid) > MAX_ID) throw notFound('Conversation');
  }

  app.get(
    '/api/tenants/:id/conversations',
    { schema: { params: ConversationListParams, querystring: PageQuery, response: { 200: ConversationPage, '4xx': ErrorResponse } } },
    async (request) => {
      const tenant = await findTenant(request.params.id);
      const { limit, offset } = request.query;
      const page = await conversations.list(tenant.id, { limit, offset });
      return { items: page.items.map((c) => toConversationView(c, tenant)), total: page.total, limit, offset };
    },
  );

  app.get(
    '/api/tenants/:id/conversations/:cid/messages',
    { schema: { params: ConversationParams, querystring: PageQuery, response: { 200: MessagePage, '4xx': ErrorResponse } } },
    async (request) => {
      const tenant = await findTenant(request.params.id);
      assertConversationId(request.params.cid);
      const conversation = await conversations.find(tenant.id, request.params.cid);
      if (!conversation) throw notFound('Conversation');
      const { limit, offset } = request.query;
      const page = await conversations.listMessages(tenant.id, conversation.id, { limit, offset });
      return { items: page.items.map(toMessageView), total: page.total, limit, offset };
    },
  );

  app.patch(
    '/api/tenants/:id/conversations/:cid',
    { schema: { params: ConversationParams, body: UpdateConversationBody, response: { 200: ConversationView, '4xx': ErrorResponse } } },
    async (request) => {
      const tenant = await findTenant(request.params.id);
      assertConversationId(request.params.cid);
      const updated = await conversations.setAiEnabled(tenant.id, request.params.cid, request.body.aiEnabled);
      if (!updated) throw notFound('Conversation');
      return toConversationView(updated, tenant);
    },
  );
};
