/**
 * Operator endpoints: `/health` (the process is alive), `/ready` (it can do its job: Redis answers
 * with `noeviction`, the database answers), `/metrics` (Prometheus text).
 */
import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../../lib/metrics.js';
import { checkReadiness, type ReadinessProbe } from '../../lib/readiness.js';

export async function healthRoutes(app: FastifyInstance, deps: { probes: ReadinessProbe[]; metrics: Metrics }): Promise<void> {
  app.get('/health', async () => ({ status: 'ok' }));
  app.get('/ready', async (_request, reply) => {
    const readiness = await checkReadiness(deps.probes);
    return reply.code(readiness.isReady ? 200 : 503).send(readiness);
  });
  app.get('/metrics', async (_request, reply) => {
    return reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
}
