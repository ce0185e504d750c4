import type { Broadcast } from '../db/schema.js';

/** The broadcast's own rate, else the tenant's override, else BROADCAST_RATE_PER_MINUTE. */
export function broadcastRate(broadcast: Pick<Broadcast, 'rate_per_minute'>, tenantRate: number | null, defaultRate: number): number {
  return broadcast.rate_per_minute ?? tenantRate ?? defaultRate;
}

/** The rate limiter's key: one bucket per tenant, shared by all its broadcasts. */
export function broadcastRateKey(tenantId: string): string {
  return `broadcast:${tenantId}`;
}
