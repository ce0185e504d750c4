/**
 * The API's in-memory view of the tenants, so the webhook's hot path never queries the database.
 * The whole list is reloaded on a short TTL (picking up changes made by other API processes) and
 * immediately when this process changes a tenant. A miss for an unknown id is answered from the
 * cache too; only a full reload can make it known, so a flood of bogus tenant ids costs nothing.
 */
import type { TenantsRepository } from '../db/repositories/tenants.repository.js';
import type { Tenant } from '../db/schema.js';
import { AppError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';

export interface CachedTenant {
  id: string;
  webhookSecret: string | null;
}

export class TenantCache {
  private tenants = new Map<string, CachedTenant>();
  private loadedAt = 0;
  private reloading: Promise<void> | null = null;

  constructor(
    private readonly repository: TenantsRepository,
    private readonly ttlMs: number,
    private readonly log: Logger,
  ) {}

  /**
   * Answers from memory. When the list is older than the TTL, a known tenant is answered at once and
   * the list reloads in the background; an unknown one waits for that reload, so a tenant created by
   * another process is never turned away with a stale 404. Misses cost at most one reload per TTL.
   */
  async get(id: string): Promise<CachedTenant | undefined> {
    if (this.loadedAt === 0) {
      await this.reload().catch(() => {
        throw new AppError('service_unavailable', 503, 'Tenant list temporarily unavailable', { 'retry-after': '1' });
      });
      return this.tenants.get(id);
    }
    const known = this.tenants.get(id);
    if (Date.now() - this.loadedAt <= this.ttlMs) return known;
    const reloading = this.reload().catch(() => undefined);
    if (known) return known;
    await reloading;
    return this.tenants.get(id);
  }

  /** Called after this process creates or changes a tenant. */
  put(tenant: Tenant): void {
    this.tenants.set(tenant.id, toCached(tenant));
  }

  async reload(): Promise<void> {
    this.reloading ??= (async () => {
      try {
        const rows = await this.repository.list();
        this.tenants = new Map(rows.map((t) => [t.id, toCached(t)]));
        this.loadedAt = Date.now();
      } catch (error) {
        this.log.error({ err: error }, 'Could not reload tenants; keeping the cached list');
        throw error;
      } finally {
        this.reloading = null;
      }
    })();
    return this.reloading;
  }
}

function toCached(t: Tenant): CachedTenant {
  return { id: t.id, webhookSecret: t.webhook_secret };
}
