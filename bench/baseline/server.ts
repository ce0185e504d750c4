/**
 * The baseline of `bench:ingest:baseline`: the minimal webhook a team would write instead of
 * Switchboard, with Fastify 5 + BullMQ 5 + ioredis. It checks the shared secret, takes Fastify's
 * parsed JSON body, adds one `webhook_process` job per message with a deterministic `jobId` (so a
 * redelivery is not enqueued twice), and answers `{status:'ok'}`. Nothing else: no schema
 * validation, no tenant check, no metrics, logger at `warn`.
 *
 *   PORT=3001 INTERNAL_SECRET=… QUEUE_PREFIX='{x}' node bench/results/baseline-build/server.js [port]
 *
 * The bench compiles it with the same tsc and options as Switchboard's `dist/` and runs it under
 * plain `node`, exactly as it runs Switchboard (see bench/README.md).
 */
import { timingSafeEqual } from 'node:crypto';
import Fastify from 'fastify';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';

interface IncomingMessage {
  key: { remoteJid: string; fromMe: boolean; id: string };
}

interface WebhookBody {
  tenantId: string;
  event: string;
  payload: { messages?: IncomingMessage[] };
}

const port = Number(process.argv[2] ?? process.env['PORT'] ?? 3001);
const host = process.env['HOST'] ?? '127.0.0.1';
const secret = Buffer.from(process.env['INTERNAL_SECRET'] ?? '');
if (secret.length === 0) throw new Error('INTERNAL_SECRET is required');

// Fail fast: with Redis away a request errors within milliseconds instead of hanging.
const connection = new Redis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379', {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  commandTimeout: 500,
});
connection.on('error', (error: Error) => process.stderr.write(`redis: ${error.message}\n`));
const queue = new Queue('default', { connection, prefix: process.env['QUEUE_PREFIX'] ?? 'bull' });

/** BullMQ forbids `:` in custom ids (its key separator). */
const escape = (value: string): string => value.replace(/:/g, '%3A');

function jobId(tenantId: string, message: IncomingMessage): string {
  const { remoteJid, id, fromMe } = message.key;
  return ['msg', escape(tenantId), escape(remoteJid), escape(id), fromMe ? 'out' : 'in'].join('|');
}

function isSecretOk(given: string | string[] | undefined): boolean {
  if (typeof given !== 'string') return false;
  const bytes = Buffer.from(given);
  return bytes.length === secret.length && timingSafeEqual(bytes, secret);
}

const app = Fastify({ logger: { level: 'warn' } });

app.post<{ Body: WebhookBody }>('/webhook/whatsapp/incoming', async (request, reply) => {
  if (!isSecretOk(request.headers['x-internal-secret'])) return reply.code(401).send({ error: 'unauthorized' });
  const body = request.body;
  const messages = body.payload.messages ?? [];
  await Promise.all(messages.map((message) => queue.add('webhook_process', body, { jobId: jobId(body.tenantId, message) })));
  return { status: 'ok' };
});

await queue.waitUntilReady();
await app.listen({ port, host });

const shutdown = (): void => {
  void app
    .close()
    .then(() => queue.close())
    .finally(() => connection.disconnect());
};
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
