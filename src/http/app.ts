/**
 * Builds the HTTP application from its dependencies. It never listens (the api role does), so tests
 * drive it with `app.inject` or listen on a port of their own.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Config } from '../config.js';
import type { BroadcastsRepository } from '../db/repositories/broadcasts.repository.js';
import type { ConversationsRepository } from '../db/repositories/conversations.repository.js';
import type { OutboxRepository } from '../db/repositories/outbox.repository.js';
import type { RemindersRepository } from '../db/repositories/reminders.repository.js';
import type { TenantsRepository } from '../db/repositories/tenants.repository.js';
import type { Logger } from '../lib/logger.js';
import type { Metrics } from '../lib/metrics.js';
import type { ReadinessProbe } from '../lib/readiness.js';
import { createBullBoardQueues } from '../queue/bull-board.js';
import type { JobQueues } from '../queue/job-queues.js';
import type { ScheduleRegistry } from '../queue/schedule-registry.js';
import { loadAdminUiFiles } from './admin-ui-files.js';
import { createFailedJobRearm } from './failed-job-rearm.js';
import { createAdminGuard } from './plugins/admin-auth.js';
import { createAdminSessions } from './plugins/admin-session.js';
import { registerErrorHandler } from './plugins/error-handler.js';
import { broadcastsRoutes } from './routes/broadcasts.route.js';
import { bullBoardRoutes } from './routes/bull-board.route.js';
import { consoleRoutes } from './routes/console.route.js';
import { conversationsRoutes } from './routes/conversations.route.js';
import { jobsRoutes } from './routes/jobs.route.js';
import { schedulerRoutes } from './routes/scheduler.route.js';
import { healthRoutes } from './routes/health.route.js';
import { remindersRoutes } from './routes/reminders.route.js';
import { tenantsRoutes } from './routes/tenants.route.js';
import { webhookRoutes } from './routes/webhook.route.js';
import type { TenantCache } from './tenant-cache.js';

export interface AppDeps {
  config: Config;
  log: Logger;
  queues: JobQueues;
  tenants: TenantsRepository;
  conversations: ConversationsRepository;
  reminders: RemindersRepository;
  broadcasts: BroadcastsRepository;
  /** Only to re-arm a failed reply or reminder row when an operator retries its send. */
  outbox: OutboxRepository;
  scheduleRegistry: ScheduleRegistry;
  tenantCache: TenantCache;
  metrics: Metrics;
  probes: ReadinessProbe[];
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    // The webhook logs its own one line per event; a request log per call would double the cost.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    return503OnClosing: true,
    // Behind a reverse proxy (TRUST_PROXY), request.ip and request.protocol come from its
    // X-Forwarded-* headers: the sign-in throttle then counts the client, not the proxy, and the
    // console's cookie is marked Secure when the browser spoke HTTPS to the proxy.
    trustProxy: toFastifyTrustProxy(deps.config.TRUST_PROXY),
    // Reject unknown fields instead of silently dropping them: a typo in an admin call is an error.
    ajv: { customOptions: { removeAdditional: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  registerErrorHandler(app);
  await app.register(healthRoutes, { probes: deps.probes, metrics: deps.metrics });
  await app.register(webhookRoutes, {
    config: deps.config,
    queues: deps.queues,
    tenantCache: deps.tenantCache,
    metrics: deps.metrics,
    log: deps.log,
  });
  const sessions = createAdminSessions({ adminToken: deps.config.ADMIN_TOKEN, lifetimeMs: deps.config.ADMIN_SESSION_HOURS * 3_600_000 });
  await app.register(consoleRoutes, { adminToken: deps.config.ADMIN_TOKEN, sessions, files: await loadAdminUiFiles() });
  await app.register(bullBoardRoutes, { sessions, queues: createBullBoardQueues(deps.queues) });
  await app.register(async (admin) => {
    admin.addHook('onRequest', createAdminGuard(deps.config.ADMIN_TOKEN, sessions));
    await admin.register(tenantsRoutes, { tenants: deps.tenants, tenantCache: deps.tenantCache });
    await admin.register(conversationsRoutes, { tenants: deps.tenants, conversations: deps.conversations });
    await admin.register(remindersRoutes, {
      tenants: deps.tenants,
      reminders: deps.reminders,
      maxLatenessMinutes: deps.config.REMINDER_MAX_LATENESS_MINUTES,
    });
    await admin.register(broadcastsRoutes, { tenants: deps.tenants, broadcasts: deps.broadcasts, queues: deps.queues, log: deps.log });
    await admin.register(schedulerRoutes, { scheduleRegistry: deps.scheduleRegistry });
    await admin.register(jobsRoutes, { queues: deps.queues, rearm: createFailedJobRearm({ broadcasts: deps.broadcasts, outbox: deps.outbox }) });
  });
  return app;
}

/** A hop count trusts that many proxies nearest to us (Fastify's typings take it only as a function). */
function toFastifyTrustProxy(setting: AppDeps['config']['TRUST_PROXY']): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (typeof setting !== 'number') return setting;
  return (_address, hop) => hop < setting;
}
