/**
 * The one binary. Reads the role from config, loads only that role's code, starts it, and on SIGTERM
 * or SIGINT stops intake first and releases everything else within SHUTDOWN_GRACE_MS.
 */
import { ConfigError, loadConfigFromProcess, requireDeployedSettings, type Config, type Role } from './config.js';
import { createContainer } from './container.js';
import { ensureDemoTenant, startupBanner } from './embedded/demo.js';
import { provideRedis } from './embedded/embedded-redis.js';
import { loadOrCreateSecrets } from './embedded/embedded-secrets.js';
import { createLogger, type Logger } from './lib/logger.js';
import { Releasers } from './lib/shutdown.js';
import type { StartRole } from './roles/role.js';

const ROLE_MODULES: Record<Role, () => Promise<{ start: StartRole }>> = {
  api: () => import('./roles/api.js'),
  worker: () => import('./roles/worker.js'),
  scheduler: () => import('./roles/scheduler.js'),
  all: () => import('./roles/all.js'),
};

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfigFromProcess();
    requireDeployedSettings(config);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const log = createLogger(config.LOG_LEVEL, { role: config.SERVICE_ROLE });
  installCrashGuards(log);
  const releasers = new Releasers();

  let banner: string | undefined;
  if (config.SERVICE_ROLE === 'all') {
    const embedded = await applyEmbeddedDefaults(config, releasers);
    config = embedded.config;
    banner = embedded.banner;
  }

  const { start } = await ROLE_MODULES[config.SERVICE_ROLE]();
  const container = await createContainer(config, log);
  if (config.SERVICE_ROLE === 'all') await ensureDemoTenant(container.tenants);
  releasers.add('container', () => container.releasers.releaseAll(log, config.SHUTDOWN_GRACE_MS));
  const stop = await start(container, { serveHealth: true });
  releasers.add('role', stop);
  if (banner) process.stdout.write(`${banner}\n`);

  let isStopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (isStopping) return;
    isStopping = true;
    log.info({ signal, graceMs: config.SHUTDOWN_GRACE_MS }, 'Shutting down');
    void releasers.releaseAll(log, config.SHUTDOWN_GRACE_MS).then(() => {
      log.info('Stopped');
      process.exit(0);
    });
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

async function applyEmbeddedDefaults(config: Config, releasers: Releasers): Promise<{ config: Config; banner: string }> {
  const secrets = loadOrCreateSecrets(config.DATA_DIR);
  let redisUrl = config.REDIS_URL;
  if (!redisUrl) {
    const redis = await provideRedis(config.DATA_DIR);
    redisUrl = redis.url;
    const child = redis.child;
    if (child) {
      releasers.add('embedded redis', () => {
        child.kill('SIGTERM');
      });
      process.on('exit', () => child.kill('SIGTERM'));
    }
  }
  const internalSecret = config.INTERNAL_SECRET ?? secrets.internalSecret;
  // With the embedded database, the queues get this installation's own prefix: a shared local Redis
  // then never mixes two checkouts' jobs, and dedupe markers never outlive a wiped ./data.
  const isQueueTiedToData = config.isQueuePrefixDefault && !config.DATABASE_URL;
  const next: Config = {
    ...config,
    QUEUE_PREFIX: isQueueTiedToData ? `{switchboard-${secrets.installationId}}` : config.QUEUE_PREFIX,
    REDIS_URL: redisUrl,
    INTERNAL_SECRET: internalSecret,
    GATEWAY_SECRET: config.GATEWAY_SECRET ?? internalSecret,
    ADMIN_TOKEN: config.ADMIN_TOKEN ?? secrets.adminToken,
  };
  const banner = startupBanner({
    port: next.PORT,
    internalSecret,
    adminToken: next.ADMIN_TOKEN ?? '',
    redisUrl: `${redisUrl} (queues under ${next.QUEUE_PREFIX})`,
    database: next.DATABASE_URL ? 'PostgreSQL (DATABASE_URL)' : `embedded PGlite under ${next.DATA_DIR}/pglite`,
  });
  return { config: next, banner };
}

/** A Redis or network error must never take the process down; a programming error still does. */
function installCrashGuards(log: Logger): void {
  process.on('unhandledRejection', (reason) => {
    log.error({ err: reason }, 'Unhandled promise rejection');
  });
  process.on('uncaughtException', (error) => {
    log.fatal({ err: error }, 'Uncaught exception; exiting');
    process.exit(1);
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`Switchboard failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
