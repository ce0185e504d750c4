/**
 * The composition root: builds every shared dependency from `Config` in one readable function and
 * returns them with a `close` that releases them in reverse order. Roles take what they use from it.
 */
import { createReplyGenerator } from './ai/index.js';
import type { ReplyGenerator } from './ai/reply-generator.js';
import type { Config } from './config.js';
import { openDatabase, type DatabaseHandle } from './db/database.js';
import { migrate } from './db/migrate.js';
import { createBroadcastsRepository, type BroadcastsRepository } from './db/repositories/broadcasts.repository.js';
import { createConversationsRepository, type ConversationsRepository } from './db/repositories/conversations.repository.js';
import { createMaintenanceRepository, type MaintenanceRepository } from './db/repositories/maintenance.repository.js';
import { createMessagesRepository, type MessagesRepository } from './db/repositories/messages.repository.js';
import { createOutboxRepository, type OutboxRepository } from './db/repositories/outbox.repository.js';
import { createReceiptsRepository, type ReceiptsRepository } from './db/repositories/receipts.repository.js';
import { createRemindersRepository, type RemindersRepository } from './db/repositories/reminders.repository.js';
import { createRepliesRepository, type RepliesRepository } from './db/repositories/replies.repository.js';
import { createTenantsRepository, type TenantsRepository } from './db/repositories/tenants.repository.js';
import type { Logger } from './lib/logger.js';
import { createMetrics, type Metrics } from './lib/metrics.js';
import type { ReadinessProbe } from './lib/readiness.js';
import { Releasers } from './lib/shutdown.js';
import { JobQueues } from './queue/job-queues.js';
import { RateLimiter } from './queue/rate-limiter.js';
import { DEFAULT_REDIS_URL } from './queue/redis-connections.js';
import { ScheduleRegistry } from './queue/schedule-registry.js';
import { createGatewayClient } from './whatsapp/gateway-client.js';
import type { GatewayClient } from './whatsapp/gateway.types.js';

export interface Container {
  config: Config;
  log: Logger;
  database: DatabaseHandle;
  queues: JobQueues;
  metrics: Metrics;
  tenants: TenantsRepository;
  messages: MessagesRepository;
  receipts: ReceiptsRepository;
  conversations: ConversationsRepository;
  replies: RepliesRepository;
  outbox: OutboxRepository;
  reminders: RemindersRepository;
  broadcasts: BroadcastsRepository;
  /** Per-tenant broadcast send rate across all workers (on the producer connection). */
  rateLimiter: RateLimiter;
  maintenance: MaintenanceRepository;
  ai: ReplyGenerator;
  /** null when GATEWAY_URL is not set. */
  gateway: GatewayClient | null;
  scheduleRegistry: ScheduleRegistry;
  probes: ReadinessProbe[];
  /** Roles register their own releasers here (HTTP server, workers) so they are released first. */
  releasers: Releasers;
}

export async function createContainer(config: Config, log: Logger, options: { collectDefaultMetrics?: boolean } = {}): Promise<Container> {
  const releasers = new Releasers();
  const database = await openDatabase({ url: config.DATABASE_URL, dataDir: config.DATA_DIR, poolSize: config.DATABASE_POOL_SIZE });
  releasers.add('database', () => database.close());
  await migrate(database.db, log);

  const queues = new JobQueues({
    redisUrl: config.REDIS_URL ?? DEFAULT_REDIS_URL,
    prefix: config.QUEUE_PREFIX,
    commandTimeoutMs: config.ENQUEUE_TIMEOUT_MS,
    attempts: config.JOB_ATTEMPTS,
    backoffMs: config.JOB_BACKOFF_MS,
    dedupeWindowSeconds: config.DEDUPE_WINDOW_SECONDS,
    log,
  });
  releasers.add('queues', () => queues.close());
  if (!(await queues.waitUntilConnected(5000))) log.warn('Redis does not answer yet; webhooks get 503 until it does');

  const probes: ReadinessProbe[] = [
    { name: 'redis', check: async () => (await queues.health()).reason },
    { name: 'database', check: async () => void (await database.ping()) },
  ];

  return {
    config,
    log,
    database,
    queues,
    metrics: createMetrics({ collectDefaults: options.collectDefaultMetrics ?? true }),
    tenants: createTenantsRepository(database.db),
    // The embedded database (one connection, for trying Switchboard out) stores one message at a time.
    messages: createMessagesRepository(database.db, { batchStores: !database.isEmbedded }),
    receipts: createReceiptsRepository(database.db),
    conversations: createConversationsRepository(database.db),
    replies: createRepliesRepository(database.db),
    outbox: createOutboxRepository(database.db),
    reminders: createRemindersRepository(database.db),
    broadcasts: createBroadcastsRepository(database.db),
    rateLimiter: new RateLimiter(queues.connection, config.QUEUE_PREFIX),
    maintenance: createMaintenanceRepository(database.db),
    ai: createReplyGenerator({
      ...(config.OPENAI_API_KEY ? { apiKey: config.OPENAI_API_KEY } : {}),
      ...(config.OPENAI_BASE_URL ? { baseURL: config.OPENAI_BASE_URL } : {}),
      model: config.AI_MODEL,
      timeoutMs: config.AI_TIMEOUT_MS,
    }),
    gateway:
      config.GATEWAY_URL && config.GATEWAY_SECRET
        ? createGatewayClient({ baseUrl: config.GATEWAY_URL, secret: config.GATEWAY_SECRET, timeoutMs: config.GATEWAY_TIMEOUT_MS })
        : null,
    scheduleRegistry: new ScheduleRegistry(queues.connection, config.QUEUE_PREFIX),
    probes,
    releasers,
  };
}
