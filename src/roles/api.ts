/** The API role: the webhook, the admin API and the operator endpoints. It holds no job handlers. */
import { buildApp } from '../http/app.js';
import { TenantCache } from '../http/tenant-cache.js';
import type { StartRole } from './role.js';

export const start: StartRole = async (c) => {
  const tenantCache = new TenantCache(c.tenants, c.config.TENANT_CACHE_TTL_MS, c.log);
  await tenantCache.reload().catch(() => undefined);
  const app = await buildApp({
    config: c.config,
    log: c.log,
    queues: c.queues,
    tenants: c.tenants,
    conversations: c.conversations,
    reminders: c.reminders,
    broadcasts: c.broadcasts,
    outbox: c.outbox,
    scheduleRegistry: c.scheduleRegistry,
    tenantCache,
    metrics: c.metrics,
    probes: c.probes,
  });
  await app.listen({ port: c.config.PORT, host: c.config.HOST });
  c.log.info({ port: c.config.PORT }, 'API listening');
  return async () => {
    await app.close();
  };
};
