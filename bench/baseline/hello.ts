/**
 * The HTTP ceiling of `bench:ingest:baseline`: the same Fastify 5 route as the baseline, which
 * parses the JSON body and answers `{status:'ok'}`, with no secret check and no Redis. Nothing a
 * webhook server built on Fastify does can answer faster on this machine.
 *
 *   PORT=3002 node bench/results/baseline-build/hello.js [port]
 */
import Fastify from 'fastify';

const port = Number(process.argv[2] ?? process.env['PORT'] ?? 3002);
const host = process.env['HOST'] ?? '127.0.0.1';

const app = Fastify({ logger: { level: 'warn' } });

app.post<{ Body: unknown }>('/webhook/whatsapp/incoming', async () => ({ status: 'ok' }));

await app.listen({ port, host });

const shutdown = (): void => {
  void app.close();
};
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
