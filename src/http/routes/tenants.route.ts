/** Admin API for tenants: create, read, update. The webhook secret is write-only. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { TenantsRepository } from '../../db/repositories/tenants.repository.js';
import type { Tenant } from '../../db/schema.js';
import { badRequest, conflict, notFound } from '../../lib/errors.js';
import { CreateTenantBody, TenantParams, TenantView, UpdateTenantBody } from '../schemas/tenant.schema.js';
import type { TenantCache } from '../tenant-cache.js';

const ErrorResponse = Type.Object({ error: Type.String(), message: Type.Optional(Type.String()) });

export function toTenantView(t: Tenant): TenantView {
  return {
    id: t.id,
    name: t.name,
    timezone: t.timezone,
    hasWebhookSecret: t.webhook_secret !== null,
    aiEnabled: t.ai_enabled,
    systemPrompt: t.system_prompt,
    replyTemplate: t.reply_template,
    voiceNoteReply: t.voice_note_reply,
    groupsEnabled: t.groups_enabled,
    broadcastRatePerMinute: t.broadcast_rate_per_minute,
    createdAt: t.created_at.toISOString(),
    updatedAt: t.updated_at.toISOString(),
  };
}

function assertTimezone(timezone: string | undefined): void {
  if (timezone === undefined) return;
  try {
    new Intl.DateTimeFormat('en', { timeZone: timezone });
  } catch {
    throw badRequest(`timezone "${timezone}" is not an IANA time zone`);
  }
}

export const tenantsRoutes: FastifyPluginAsyncTypebox<{ tenants: TenantsRepository; tenantCache: TenantCache }> = async (
  app,
  { tenants, tenantCache },
) => {
  app.get('/api/tenants', { schema: { response: { 200: Type.Object({ tenants: Type.Array(TenantView) }) } } }, async () => ({
    tenants: (await tenants.list()).map(toTenantView),
  }));

  app.post(
    '/api/tenants',
    { schema: { body: CreateTenantBody, response: { 201: TenantView, '4xx': ErrorResponse } } },
    async (request, reply) => {
      const body = request.body;
      assertTimezone(body.timezone);
      const created = await tenants.create({
        id: body.id,
        name: body.name,
        webhook_secret: body.webhookSecret ?? null,
        system_prompt: body.systemPrompt ?? null,
        ...(body.timezone !== undefined ? { timezone: body.timezone } : {}),
        ...(body.aiEnabled !== undefined ? { ai_enabled: body.aiEnabled } : {}),
        ...(body.replyTemplate !== undefined ? { reply_template: body.replyTemplate } : {}),
        ...(body.voiceNoteReply !== undefined ? { voice_note_reply: body.voiceNoteReply } : {}),
        ...(body.groupsEnabled !== undefined ? { groups_enabled: body.groupsEnabled } : {}),
        ...(body.broadcastRatePerMinute !== undefined ? { broadcast_rate_per_minute: body.broadcastRatePerMinute } : {}),
      });
      if (!created) throw conflict(`Tenant "${body.id}" already exists`);
      tenantCache.put(created);
      return reply.code(201).send(toTenantView(created));
    },
  );

  app.get(
    '/api/tenants/:id',
    { schema: { params: TenantParams, response: { 200: TenantView, '4xx': ErrorResponse } } },
    async (request) => {
      const tenant = await tenants.find(request.params.id);
      if (!tenant) throw notFound('Tenant');
      return toTenantView(tenant);
    },
  );

  app.patch(
    '/api/tenants/:id',
    { schema: { params: TenantParams, body: UpdateTenantBody, response: { 200: TenantView, '4xx': ErrorResponse } } },
    async (request) => {
      const body = request.body;
      assertTimezone(body.timezone);
      const updated = await tenants.update(request.params.id, {
        ...(body.name !== undefined ? { name: body.name } : {}),
        ...(body.timezone !== undefined ? { timezone: body.timezone } : {}),
        ...(body.webhookSecret !== undefined ? { webhook_secret: body.webhookSecret } : {}),
        ...(body.aiEnabled !== undefined ? { ai_enabled: body.aiEnabled } : {}),
        ...(body.systemPrompt !== undefined ? { system_prompt: body.systemPrompt } : {}),
        ...(body.replyTemplate !== undefined ? { reply_template: body.replyTemplate } : {}),
        ...(body.voiceNoteReply !== undefined ? { voice_note_reply: body.voiceNoteReply } : {}),
        ...(body.groupsEnabled !== undefined ? { groups_enabled: body.groupsEnabled } : {}),
        ...(body.broadcastRatePerMinute !== undefined ? { broadcast_rate_per_minute: body.broadcastRatePerMinute } : {}),
      });
      if (!updated) throw notFound('Tenant');
      tenantCache.put(updated);
      return toTenantView(updated);
    },
  );
};
