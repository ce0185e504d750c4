/**
 * Admin API for a tenant's broadcasts: create one (its recipients stored in one transaction, then one
 * `broadcast_fanout` job), list and read them with their progress, pause, resume and cancel them, and
 * follow one live with Server-Sent Events. Scoped like reminders: another tenant's broadcast is "not
 * found". Every number comes from the database, so any API process answers the same.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { BroadcastCounts, BroadcastsRepository } from '../../db/repositories/broadcasts.repository.js';
import type { TenantsRepository } from '../../db/repositories/tenants.repository.js';
import type { Broadcast, BroadcastState, Tenant } from '../../db/schema.js';
import { badRequest, conflict, notFound, queueUnavailable } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import { broadcastFanoutJobId } from '../../queue/job-ids.js';
import type { JobQueues } from '../../queue/job-queues.js';
import { ErrorResponse, PageQuery } from '../schemas/conversation.schema.js';
import {
  BROADCAST_JID_PATTERN,
  BroadcastListParams,
  BroadcastPage,
  BroadcastParams,
  BroadcastView,
  CreateBroadcastBody,
  MAX_BROADCAST_RECIPIENTS,
} from '../schemas/broadcast.schema.js';

const MAX_ID = 9_223_372_036_854_775_807n;
/** 100,000 jids of up to 128 characters, quoted and separated. */
const BODY_LIMIT = MAX_BROADCAST_RECIPIENTS * 132 + 64 * 1024;
const SSE_POLL_MS = 300;
const FINAL_STATES: ReadonlySet<BroadcastState> = new Set(['completed', 'cancelled']);

export function toBroadcastView(b: Broadcast, c: BroadcastCounts): BroadcastView {
  const done = c.sent + c.failed + c.skipped;
  return {
    id: b.id,
    name: b.name,
    state: b.state,
    total: b.total,
    duplicatesRemoved: b.duplicates_removed,
    ratePerMinute: b.rate_per_minute,
    ...c,
    progress: b.total === 0 ? 1 : Math.min(1, done / b.total),
    createdAt: b.created_at.toISOString(),
    startedAt: b.started_at?.toISOString() ?? null,
    finishedAt: b.finished_at?.toISOString() ?? null,
  };
}

const EMPTY_COUNTS: BroadcastCounts = { sent: 0, failed: 0, skipped: 0, pending: 0, delivered: 0, read: 0 };

export interface BroadcastsRouteOptions {
  tenants: TenantsRepository;
  broadcasts: BroadcastsRepository;
  queues: Pick<JobQueues, 'enqueue'>;
  log: Logger;
}

export const broadcastsRoutes: FastifyPluginAsyncTypebox<BroadcastsRouteOptions> = async (app, { tenants, broadcasts, queues, log }) => {
  const streams = new Set<() => void>();
  // Open event streams would hold the server's close forever: end them first.
  app.addHook('onClose', async () => {
    for (const end of [...streams]) end();
  });

  async function findTenant(id: string): Promise<Tenant> {
    const tenant = await tenants.find(id);
    if (!tenant) throw notFound('Tenant');
    return tenant;
  }

  async function view(tenantId: string, bid: string): Promise<BroadcastView | undefined> {
    if (BigInt(bid) > MAX_ID) return undefined;
    const broadcast = await broadcasts.find(tenantId, bid);
    if (!broadcast) return undefined;
    const counts = await broadcasts.counts([broadcast.id]);
    return toBroadcastView(broadcast, counts.get(broadcast.id) ?? EMPTY_COUNTS);
  }

  async function viewOrThrow(tenantId: string, bid: string): Promise<BroadcastView> {
    const found = await view(tenantId, bid);
    if (!found) throw notFound('Broadcast');
    return found;
  }

  app.post(
    '/api/tenants/:id/broadcasts',
    { bodyLimit: BODY_LIMIT, schema: { params: BroadcastListParams, body: CreateBroadcastBody, response: { 201: BroadcastView, '4xx': ErrorResponse, 503: ErrorResponse } } },
    async (request, reply) => {
      const tenant = await findTenant(request.params.id);
      const { name, text, recipients, ratePerMinute } = request.body;
      const invalid: number[] = [];
      recipients.forEach((jid, index) => {
        if (!BROADCAST_JID_PATTERN.test(jid)) invalid.push(index);
      });
      if (invalid.length > 0) {
        const shown = invalid.slice(0, 20).join(', ');
        throw badRequest(
          `${invalid.length} invalid recipient jid(s) at position(s) ${shown}${invalid.length > 20 ? ', …' : ''} (0-based): expected 972501234567@s.whatsapp.net, 1234567890@lid or 120363000000000000@g.us`,
        );
      }
      const distinct = [...new Set(recipients)];
      const created = await broadcasts.create({
        tenantId: tenant.id,
        name,
        text,
        recipients: distinct,
        duplicatesRemoved: recipients.length - distinct.length,
        ratePerMinute: ratePerMinute ?? null,
      });
      try {
        await queues.enqueue('broadcast_fanout', { tenantId: tenant.id, broadcastId: created.id }, broadcastFanoutJobId(created.id));
      } catch (error) {
        // Without its fan-out job the broadcast would sit pending forever: take it back, say 503.
        await broadcasts.remove(tenant.id, created.id);
        log.warn({ tenantId: tenant.id, broadcastId: created.id, err: error }, 'Broadcast not created: the queue is unavailable');
        throw queueUnavailable();
      }
      log.info({ tenantId: tenant.id, broadcastId: created.id, recipients: distinct.length }, 'Broadcast created');
      return reply.code(201).send(toBroadcastView(created, { ...EMPTY_COUNTS, pending: created.total }));
    },
  );

  app.get(
    '/api/tenants/:id/broadcasts',
    { schema: { params: BroadcastListParams, querystring: PageQuery, response: { 200: BroadcastPage, '4xx': ErrorResponse } } },
    async (request) => {
      const tenant = await findTenant(request.params.id);
      const { limit, offset } = request.query;
      const page = await broadcasts.list(tenant.id, { limit, offset });
      const counts = await broadcasts.counts(page.items.map((b) => b.id));
      return { items: page.items.map((b) => toBroadcastView(b, counts.get(b.id) ?? EMPTY_COUNTS)), total: page.total, limit, offset };
    },
  );

  app.get(
    '/api/tenants/:id/broadcasts/:bid',
    { schema: { params: BroadcastParams, response: { 200: BroadcastView, '4xx': ErrorResponse } } },
    async (request) => viewOrThrow((await findTenant(request.params.id)).id, request.params.bid),
  );

  const actions = {
    pause: { from: ['running'], to: 'paused' },
    resume: { from: ['paused'], to: 'running' },
  } as const;

  for (const [action, move] of Object.entries(actions)) {
    app.post(
      `/api/tenants/:id/broadcasts/:bid/${action}`,
      { schema: { params: BroadcastParams, response: { 200: BroadcastView, '4xx': ErrorResponse } } },
      async (request) => {
        const tenant = await findTenant(request.params.id);
        const current = await viewOrThrow(tenant.id, request.params.bid);
        const moved = await broadcasts.transition(tenant.id, current.id, move.from, move.to);
        if (!moved) throw conflict(`Broadcast ${current.id} is ${current.state}: only a ${move.from.join(' or ')} broadcast can be ${action}d`);
        // Its last sends may have settled while it was paused: nothing would complete it otherwise.
        if (move.to === 'running') await broadcasts.completeIfDone(current.id);
        return viewOrThrow(tenant.id, current.id);
      },
    );
  }

  app.post(
    '/api/tenants/:id/broadcasts/:bid/cancel',
    { schema: { params: BroadcastParams, response: { 200: BroadcastView, '4xx': ErrorResponse } } },
    async (request) => {
      const tenant = await findTenant(request.params.id);
      const current = await viewOrThrow(tenant.id, request.params.bid);
      const cancelled = await broadcasts.cancel(tenant.id, current.id);
      if (!cancelled) throw conflict(`Broadcast ${current.id} is ${current.state}: it can no longer be cancelled`);
      return viewOrThrow(tenant.id, current.id);
    },
  );

  app.get(
    '/api/tenants/:id/broadcasts/:bid/events',
    { schema: { params: BroadcastParams, response: { '4xx': ErrorResponse } } },
    async (request, reply) => {
      const tenant = await findTenant(request.params.id);
      const first = await viewOrThrow(tenant.id, request.params.bid);
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      let timer: NodeJS.Timeout | undefined;
      let isOpen = true;
      const end = () => {
        if (!isOpen) return;
        isOpen = false;
        clearTimeout(timer);
        streams.delete(end);
        raw.end();
      };
      streams.add(end);
      request.raw.on('close', end);

      let last = '';
      const emit = (progress: BroadcastView): boolean => {
        const data = JSON.stringify(progress);
        if (data !== last) {
          last = data;
          raw.write(`event: progress\ndata: ${data}\n\n`);
        }
        return FINAL_STATES.has(progress.state);
      };
      // One poll at a time per connection, every SSE_POLL_MS: a few events per second at most.
      const poll = async () => {
        try {
          const current = await view(tenant.id, first.id);
          if (!isOpen) return;
          if (!current || emit(current)) return end();
        } catch (error) {
          log.warn({ tenantId: tenant.id, broadcastId: first.id, err: error }, 'Broadcast event stream failed');
          return end();
        }
        timer = setTimeout(() => void poll(), SSE_POLL_MS);
      };
      if (emit(first)) end();
      else timer = setTimeout(() => void poll(), SSE_POLL_MS);
    },
  );
};
