/**
 * `POST /webhook/whatsapp/incoming`: authenticate, validate, enqueue, answer. Nothing else happens
 * here (DESIGN.md rule 1): no processing, no fallback when Redis is away (503, and the gateway
 * retries), no database query on the hot path (tenants come from the in-memory cache).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { Config } from '../../config.js';
import { AppError, badRequest, queueUnavailable, unauthorized, unknownTenant } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import type { Metrics } from '../../lib/metrics.js';
import type { EnqueueResult, JobQueues } from '../../queue/job-queues.js';
import { buildWebhookBatch, EnvelopeError, parseEnvelope, type WebhookBatch } from '../../whatsapp/webhook-envelope.js';
import { createSecretMatcher, isValidSignature } from '../plugins/webhook-auth.js';
import type { TenantCache } from '../tenant-cache.js';

export interface WebhookDeps {
  config: Pick<Config, 'INTERNAL_SECRET' | 'WEBHOOK_BODY_LIMIT'>;
  queues: JobQueues;
  tenantCache: TenantCache;
  metrics: Metrics;
  log: Logger;
}

const OkResponse = Type.Object({
  status: Type.Literal('ok'),
  enqueued: Type.Integer(),
  duplicates: Type.Integer(),
  ignored: Type.Integer(),
});
const ErrorResponse = Type.Object({ error: Type.String(), message: Type.Optional(Type.String()) });

export async function webhookRoutes(app: FastifyInstance, deps: WebhookDeps): Promise<void> {
  const { config, queues, tenantCache, metrics, log } = deps;

  // This scope reads the body as raw bytes (the HMAC is computed over them) and knows only JSON:
  // any other content type is a 415 before the handler runs.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: config.WEBHOOK_BODY_LIMIT }, (_req, body, done) =>
    done(null, body),
  );

  const countResult = (result: string) => metrics.webhooks.inc({ result });
  const isInternalSecret = createSecretMatcher(config.INTERNAL_SECRET);

  // During an outage every request fails the same way: one line a second, with the count, is enough
  // (the metrics carry the exact numbers).
  let lastWarnAt = 0;
  let unreported = 0;
  const warnEnqueueFailed = (tenantId: string, error: unknown) => {
    unreported += 1;
    const now = Date.now();
    if (now - lastWarnAt < 1000) return;
    log.warn({ tenantId, failures: unreported, err: { message: (error as Error).message } }, 'Enqueue failed; answered 503');
    lastWarnAt = now;
    unreported = 0;
  };

  app.post(
    '/webhook/whatsapp/incoming',
    {
      bodyLimit: config.WEBHOOK_BODY_LIMIT,
      schema: {
        description: 'Receives Baileys events from the gateway and enqueues them.',
        response: { 200: OkResponse, '4xx': ErrorResponse, '5xx': ErrorResponse },
      },
    },
    async (request: FastifyRequest, reply: FastifyReply) => {
      try {
        const batch = await authenticateAndParse(request);
        const answer = await enqueue(batch);
        countResult('ok');
        return reply.code(200).send(answer);
      } catch (error) {
        countResult(error instanceof AppError ? error.code : 'error');
        throw error;
      }
    },
  );

  async function authenticateAndParse(request: FastifyRequest): Promise<WebhookBatch> {
    const raw = request.body;
    if (!Buffer.isBuffer(raw)) throw new AppError('unsupported_media_type', 415, 'Send application/json');
    const secret = request.headers['x-internal-secret'];
    const signature = request.headers['x-switchboard-signature'];
    const timestamp = request.headers['x-switchboard-timestamp'];

    if (typeof secret === 'string') {
      if (!isInternalSecret(secret)) throw unauthorized();
      const envelope = toEnvelope(parseJson(raw));
      if (!(await tenantCache.get(envelope.tenantId))) throw unknownTenant();
      return toBatch(envelope);
    }
    if (typeof signature === 'string' && typeof timestamp === 'string') {
      // The tenant (and so the key) is named inside the body; until the signature checks out, a body
      // we cannot read is an authentication failure, not a 400 that would describe it to a stranger.
      let body: unknown;
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        throw unauthorized();
      }
      const tenantId = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)['tenantId'] : undefined;
      const tenant = typeof tenantId === 'string' ? await tenantCache.get(tenantId) : undefined;
      if (!tenant?.webhookSecret) throw unauthorized();
      const isValid = isValidSignature({
        secret: tenant.webhookSecret,
        timestamp,
        signature,
        rawBody: raw,
        nowSeconds: Math.floor(Date.now() / 1000),
      });
      if (!isValid) throw unauthorized();
      return toBatch(toEnvelope(body));
    }
    throw unauthorized();
  }

  async function enqueue(batch: WebhookBatch) {
    const started = performance.now();
    let results: EnqueueResult[];
    try {
      // Bounded by the producer connection's command timeout (ENQUEUE_TIMEOUT_MS): one timer per
      // script call, shared by the batches of one event-loop turn, rather than one per request.
      results = await queues.enqueueBatch(batch.items);
    } catch (error) {
      warnEnqueueFailed(batch.tenantId, error);
      throw error instanceof AppError ? error : queueUnavailable();
    }
    metrics.enqueueSeconds.observe((performance.now() - started) / 1000);
    let duplicates = 0;
    results.forEach((result, index) => {
      const item = batch.items[index];
      const fields = { tenantId: batch.tenantId, waMessageId: batch.messageIds[index], jobId: result.jobId };
      if (result.isDuplicate) {
        duplicates += 1;
        log.info(fields, 'Skipped duplicate');
      } else {
        log.info(fields, `Enqueued ${item?.name ?? 'unknown'}_job`);
      }
    });
    const enqueued = results.length - duplicates;
    if (enqueued) metrics.webhookEvents.inc({ outcome: 'enqueued' }, enqueued);
    if (duplicates) metrics.webhookEvents.inc({ outcome: 'duplicate' }, duplicates);
    if (batch.ignored) metrics.webhookEvents.inc({ outcome: 'ignored' }, batch.ignored);
    return { status: 'ok' as const, enqueued, duplicates, ignored: batch.ignored };
  }
}

function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch (error) {
    throw badRequest(`Malformed JSON: ${(error as Error).message}`);
  }
}

function toEnvelope(body: unknown) {
  try {
    return parseEnvelope(body);
  } catch (error) {
    if (error instanceof EnvelopeError) throw badRequest(error.message);
    throw error;
  }
}

function toBatch(envelope: ReturnType<typeof parseEnvelope>): WebhookBatch {
  try {
    return buildWebhookBatch(envelope, Date.now());
  } catch (error) {
    if (error instanceof EnvelopeError) throw badRequest(error.message);
    throw error;
  }
}
