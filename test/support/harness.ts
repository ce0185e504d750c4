/**
 * Starts Switchboard's parts in the test process, wired exactly as the roles wire them, against a
 * real PostgreSQL database and a real Redis under a unique prefix.
 */
import type { FastifyInstance } from 'fastify';
import { createContainer, type Container } from '../../src/container.js';
import { buildApp } from '../../src/http/app.js';
import { TenantCache } from '../../src/http/tenant-cache.js';
import { createLogger } from '../../src/lib/logger.js';
import { start as startWorkerRole } from '../../src/roles/worker.js';
import { TEST_SECRET, testConfig } from './config.js';

export interface Harness {
  container: Container;
  app: FastifyInstance;
  /** POSTs a webhook body with the shared secret. */
  post(body: unknown, headers?: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }>;
  /** POSTs like the gateway does: a 503 is retried (bounded), anything else is the answer. */
  postAsGateway(body: unknown): Promise<{ status: number; body: Record<string, unknown> }>;
  startWorker(): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export async function startHarness(options: { databaseUrl: string; redisUrl: string; prefix: string; env?: Record<string, string> }): Promise<Harness> {
  const config = testConfig({
    DATABASE_URL: options.databaseUrl,
    REDIS_URL: options.redisUrl,
    QUEUE_PREFIX: options.prefix,
    ...options.env,
  });
  const log = createLogger(config.LOG_LEVEL);
  const container = await createContainer(config, log, { collectDefaultMetrics: false });
  const tenantCache = new TenantCache(container.tenants, config.TENANT_CACHE_TTL_MS, log);
  const app = await buildApp({ ...container, tenantCache });
  await app.ready();
  const stops: Array<() => Promise<void>> = [];
  const harness: Harness = {
    container,
    app,
    async post(body, headers = {}) {
      const response = await app.inject({
        method: 'POST',
        url: '/webhook/whatsapp/incoming',
        headers: { 'content-type': 'application/json', 'x-internal-secret': TEST_SECRET, ...headers },
        payload: typeof body === 'string' ? body : JSON.stringify(body),
      });
      return { status: response.statusCode, body: response.json<Record<string, unknown>>() };
    },
    async postAsGateway(body) {
      for (let attempt = 1; ; attempt += 1) {
        const answer = await harness.post(body);
        if (answer.status !== 503 || attempt >= 20) return answer;
        await new Promise((r) => setTimeout(r, 50 * attempt));
      }
    },
    async startWorker() {
      const stop = await startWorkerRole(container, { serveHealth: false });
      stops.push(stop);
      return stop;
    },
    async close() {
      await app.close();
      for (const stop of stops) await stop();
      await container.releasers.releaseAll(log, 10_000);
    },
  };
  return harness;
}
