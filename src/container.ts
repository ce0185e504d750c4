/**
 * The composition root: builds every shared dependency from `Config` in one readable function and
 * returns them with a `close` that releases them in reverse order. Roles take what they use from it.
 */
import type { Config } from './config.js';
import { openDatabase, type DatabaseHandle } from './db/database.js';
import { migrate } from './db/migrate.js';
import { createMessagesRepository, type MessagesRepository } from './db/repositories/messages.repository.js';
import { createReceiptsRepository, type ReceiptsRepository } from './db/repositories/receipts.repository.js';
import { createTenantsRepository, type TenantsRepository } from './db/repositories/tenants.repository.js';
import type { Logger } from './lib/logger.js';
import { createMetrics, type Metrics } from './lib/metrics.js';
import type { ReadinessProbe } from './lib/readiness.js';
import { Releasers } from './lib/shutdown.js';
import { JobQueues } from './queue/job-queues.js';
import { DEFAULT_REDIS_URL } from './queue/redis-connections.js';

export interface Container {
  config: Config;
  log: Logger;
  database: DatabaseHandle;
  queues: JobQueues;
  metrics: Metrics;
  tenants: TenantsRepository;
  messages: MessagesRepository;
  receipts: ReceiptsRepository;
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
    messages: createMessagesRepository(database.db),
    receipts: createReceiptsRepository(database.db),
    probes,
    releasers,
  };
}
