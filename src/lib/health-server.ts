/**
 * The worker's and scheduler's HTTP surface: `/health`, `/ready`, `/metrics` and nothing else, on
 * plain `node:http` so these roles never load Fastify.
 */
import { createServer, type Server } from 'node:http';
import type { Metrics } from './metrics.js';
import { checkReadiness, type ReadinessProbe } from './readiness.js';

export async function startHealthServer(options: {
  port: number;
  host: string;
  probes: ReadinessProbe[];
  metrics: Metrics;
}): Promise<Server> {
  const server = createServer((request, response) => {
    const send = (status: number, body: string, type = 'application/json') => {
      response.writeHead(status, { 'content-type': type });
      response.end(body);
    };
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET') return send(405, JSON.stringify({ error: 'method_not_allowed' }));
    if (path === '/health') return send(200, JSON.stringify({ status: 'ok' }));
    if (path === '/ready') {
      void checkReadiness(options.probes).then((r) => send(r.isReady ? 200 : 503, JSON.stringify(r)));
      return;
    }
    if (path === '/metrics') {
      void options.metrics.registry.metrics().then((text) => send(200, text, options.metrics.registry.contentType));
      return;
    }
    send(404, JSON.stringify({ error: 'not_found' }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return server;
}
