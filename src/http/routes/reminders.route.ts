/**
 * Admin API for a tenant's reminders: schedule one, list them (by state), read one, cancel one while
 * it is pending. Scoped like the conversations API: every query is filtered by the tenant in the
 * path, so another tenant's reminder id is "not found". The `reminders_tick` job sends them.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { ReminderWithSend, RemindersRepository } from '../../db/repositories/reminders.repository.js';
import type { TenantsRepository } from '../../db/repositories/tenants.repository.js';
import type { Tenant } from '../../db/schema.js';
import { badRequest, conflict, notFound } from '../../lib/errors.js';
import { parseZonedDateTime } from '../../lib/zoned-time.js';
import { ErrorResponse } from '../schemas/conversation.schema.js';
import {
  CreateReminderBody,
  ReminderListParams,
  ReminderListQuery,
  ReminderPage,
  ReminderParams,
  ReminderView,
} from '../schemas/reminder.schema.js';

/** The largest PostgreSQL bigint: a longer id could never exist, and would make the query fail. */
const MAX_ID = 9_223_372_036_854_775_807n;

export function toReminderView(r: ReminderWithSend): ReminderView {
  return {
    id: r.id,
    to: r.to_jid,
    text: r.text,
    dueAt: r.due_at.toISOString(),
    state: r.status,
    note: r.note,
    outboxId: r.outbox_id,
    sentAt: r.sent_at?.toISOString() ?? null,
    sendError: r.send_error,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}

export interface RemindersRouteOptions {
  tenants: TenantsRepository;
  reminders: RemindersRepository;
  /** REMINDER_MAX_LATENESS_MINUTES: a dueAt further in the past would only ever be marked missed. */
  maxLatenessMinutes: number;
}

export const remindersRoutes: FastifyPluginAsyncTypebox<RemindersRouteOptions> = async (app, { tenants, reminders, maxLatenessMinutes }) => {
  async function findTenant(id: string): Promise<Tenant> {
    const tenant = await tenants.find(id);
    if (!tenant) throw notFound('Tenant');
    return tenant;
  }

  function assertReminderId(rid: string): void {
    if (BigInt(rid) > MAX_ID) throw notFound('Reminder');
  }

  app.post(
    '/api/tenants/:id/reminders',
    { schema: { params: ReminderListParams, body: CreateReminderBody, response: { 201: ReminderView, '4xx': ErrorResponse } } },
    async (request, reply) => {
      const tenant = await findTenant(request.params.id);
      const { to, text, dueAt } = request.body;
      const due = parseZonedDateTime(dueAt, tenant.timezone);
      if (!due) throw badRequest(`dueAt "${dueAt}" names no real date and time`);
      // Creating it would only record a reminder that is missed at the next tick: say so now instead.
      if (due.getTime() < Date.now() - maxLatenessMinutes * 60_000) {
        throw badRequest(`dueAt ${due.toISOString()} is more than ${maxLatenessMinutes} minutes in the past: it could only be missed`);
      }
      const created = await reminders.create({ tenantId: tenant.id, toJid: to, text, dueAt: due });
      return reply.code(201).send(toReminderView(created));
    },
  );

  app.get(
    '/api/tenants/:id/reminders',
    { schema: { params: ReminderListParams, querystring: ReminderListQuery, response: { 200: ReminderPage, '4xx': ErrorResponse } } },
    async (request) => {
      const tenant = await findTenant(request.params.id);
      const { state, limit, offset } = request.query;
      const page = await reminders.list(tenant.id, { limit, offset, ...(state !== undefined ? { status: state } : {}) });
      return { items: page.items.map(toReminderView), total: page.total, limit, offset };
    },
  );

  app.get(
    '/api/tenants/:id/reminders/:rid',
    { schema: { params: ReminderParams, response: { 200: ReminderView, '4xx': ErrorResponse } } },
    async (request) => {
      const tenant = await findTenant(request.params.id);
      assertReminderId(request.params.rid);
      const reminder = await reminders.find(tenant.id, request.params.rid);
      if (!reminder) throw notFound('Reminder');
      return toReminderView(reminder);
    },
  );

  app.delete(
    '/api/tenants/:id/reminders/:rid',
    { schema: { params: ReminderParams, response: { 200: ReminderView, '4xx': ErrorResponse } } },
    async (request) => {
      const tenant = await findTenant(request.params.id);
      assertReminderId(request.params.rid);
      const cancelled = await reminders.cancel(tenant.id, request.params.rid);
      if (cancelled) return toReminderView(cancelled);
      const current = await reminders.find(tenant.id, request.params.rid);
      if (!current) throw notFound('Reminder');
      throw conflict(`Reminder ${current.id} is ${current.status}: only a pending reminder can be cancelled`);
    },
  );
};
