/**
 * The webhook contract (DESIGN.md "Inbound contract") against real Redis and PostgreSQL, with no
 * worker running: every answer, every count, and proof that bad input leaves nothing behind.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { signBody } from '../src/http/plugins/webhook-auth.js';
import { messageJobId } from '../src/queue/job-ids.js';
import { QUEUE_NAMES } from '../src/queue/queue-names.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { FIXTURE_FILES, fixtureBody, fixtureText, textMessageBody } from './support/fixtures.js';
import { startHarness, type Harness } from './support/harness.js';
import { SHARED_REDIS_URL, deletePrefix, uniquePrefix } from './support/redis.js';

const HMAC_SECRET = 'beta-webhook-secret-0123456789';
let db: TestDatabase;
let harness: Harness;
let prefix: string;

async function totalJobs(): Promise<number> {
  let total = 0;
  for (const name of QUEUE_NAMES) {
    const counts = await harness.container.queues.getJobCounts(name);
    total += Object.values(counts).reduce((a, b) => a + b, 0);
  }
  return total;
}

async function storedMessages(): Promise<number> {
  const [row] = await db.query<{ n: string }>('select count(*) as n from messages');
  return Number(row?.n);
}

beforeAll(async () => {
  db = await createTestDatabase();
  prefix = uniquePrefix();
  harness = await startHarness({ databaseUrl: db.url, redisUrl: SHARED_REDIS_URL, prefix, env: { WEBHOOK_BODY_LIMIT: '65536' } });
  await harness.container.tenants.create({ id: 'acme', name: 'Acme', webhook_secret: null, system_prompt: null });
  await harness.container.tenants.create({ id: 'beta', name: 'Beta', webhook_secret: HMAC_SECRET, system_prompt: null });
});

afterAll(async () => {
  await harness.close();
  await deletePrefix(prefix);
  await db.drop();
});

beforeEach(async () => {
  await Promise.all(QUEUE_NAMES.map((name) => harness.container.queues.queue(name).obliterate({ force: true })));
});

describe('fixtures', () => {
  const expected: Record<(typeof FIXTURE_FILES)[number], { enqueued: number; ignored: number }> = {
    'upsert-text.json': { enqueued: 1, ignored: 0 },
    'upsert-two-lid-and-group.json': { enqueued: 2, ignored: 0 },
    'upsert-voice-note.json': { enqueued: 1, ignored: 0 },
    'upsert-wrapped-and-misc.json': { enqueued: 11, ignored: 0 },
    'upsert-ciphertext-stub.json': { enqueued: 0, ignored: 1 },
    'update-receipts.json': { enqueued: 3, ignored: 0 },
    'receipt-group.json': { enqueued: 2, ignored: 0 },
  };

  it.each(FIXTURE_FILES)('%s → 200 with the right counts, then a duplicate on redelivery', async (file) => {
    const first = await harness.post(fixtureText(file));
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ status: 'ok', ...expected[file], duplicates: 0 });
    expect(await totalJobs()).toBe(expected[file].enqueued);

    const again = await harness.post(fixtureText(file));
    expect(again.body).toEqual({ status: 'ok', enqueued: 0, duplicates: expected[file].enqueued, ignored: expected[file].ignored });
    expect(await totalJobs()).toBe(expected[file].enqueued);
  });

  it('keys the job by the message identity, escaped for BullMQ', async () => {
    await harness.post(fixtureText('upsert-text.json'));
    const jobId = messageJobId('acme', { remoteJid: '972501234567@s.whatsapp.net', id: '3EB0C767D26A1D5F1A2B', fromMe: false });
    expect(jobId).not.toContain(':');
    const job = await harness.container.queues.getJob('default', jobId);
    expect(job?.state).toBe('waiting');
    expect(job?.name).toBe('webhook_process');
  });
});

describe('deduplication', () => {
  it('1,000 concurrent posts of one message → one job', async () => {
    const body = JSON.stringify(textMessageBody({ id: 'CONCURRENT0001' }));
    // On a loaded 2-core machine some of the 1,000 may get a 503 (the enqueue timeout is short by
    // design); they are retried as the gateway would, and must then count as duplicates.
    const answers = await Promise.all(Array.from({ length: 1000 }, () => harness.postAsGateway(body)));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    // Exactly one answer says "enqueued" — or none, when the request that did enqueue was answered
    // 503 before Redis replied and its retry then found its own job ("the answer was lost").
    const enqueued = answers.filter((a) => a.body['enqueued'] === 1).length;
    expect(enqueued).toBeLessThanOrEqual(1);
    expect(answers.filter((a) => a.body['duplicates'] === 1)).toHaveLength(1000 - enqueued);
    expect(await totalJobs()).toBe(1);
  });

  it('the same key.id from two tenants → two jobs', async () => {
    const a = await harness.post(textMessageBody({ tenantId: 'acme', id: 'SHAREDID0001' }));
    const b = await harness.post(textMessageBody({ tenantId: 'beta', id: 'SHAREDID0001' }));
    expect(a.body['enqueued']).toBe(1);
    expect(b.body['enqueued']).toBe(1);
    expect(await totalJobs()).toBe(2);
  });

  it('the API never runs a job handler: with no worker the job waits and nothing is stored', async () => {
    await harness.post(fixtureText('upsert-text.json'));
    const counts = await harness.container.queues.getJobCounts('default');
    expect(counts['waiting']).toBe(1);
    expect(counts['active']).toBe(0);
    expect(await storedMessages()).toBe(0);
  });
});

describe('authentication', () => {
  const body = JSON.stringify(fixtureBody('upsert-text.json', 'beta'));
  const signed = (timestamp: number, payload = body, secret = HMAC_SECRET) => ({
    'x-internal-secret': undefined as unknown as string,
    'x-switchboard-timestamp': String(timestamp),
    'x-switchboard-signature': signBody(secret, String(timestamp), payload),
  });
  const now = () => Math.floor(Date.now() / 1000);

  async function postRaw(payload: string, headers: Record<string, string | undefined>) {
    const response = await harness.app.inject({
      method: 'POST',
      url: '/webhook/whatsapp/incoming',
      headers: Object.fromEntries(Object.entries({ 'content-type': 'application/json', ...headers }).filter(([, v]) => v !== undefined)) as Record<string, string>,
      payload,
    });
    return { status: response.statusCode, body: response.json<Record<string, unknown>>() };
  }

  it.each([
    ['no secret', {}],
    ['a wrong secret', { 'x-internal-secret': 'nope' }],
    ['a bad signature', { 'x-switchboard-timestamp': String(Math.floor(Date.now() / 1000)), 'x-switchboard-signature': 'v1=deadbeef' }],
  ])('401 with %s; nothing enqueued', async (_label, headers) => {
    const answer = await postRaw(body, headers);
    expect(answer).toEqual({ status: 401, body: { error: 'unauthorized' } });
    expect(await totalJobs()).toBe(0);
  });

  it('401 for a stale timestamp (over 5 minutes), even when correctly signed', async () => {
    const answer = await postRaw(body, signed(now() - 301));
    expect(answer.status).toBe(401);
    expect(await totalJobs()).toBe(0);
  });

  it('401 when the body was changed after signing', async () => {
    const headers = signed(now());
    const answer = await postRaw(body.replace('appointment', 'apartment'), headers);
    expect(answer.status).toBe(401);
  });

  it('200 with a valid per-tenant signature inside the window', async () => {
    const answer = await postRaw(body, signed(now() - 60));
    expect(answer).toEqual({ status: 200, body: { status: 'ok', enqueued: 1, duplicates: 0, ignored: 0 } });
  });

  it('401 when signing for a tenant that has no webhook secret', async () => {
    const acmeBody = JSON.stringify(fixtureBody('upsert-text.json', 'acme'));
    const answer = await postRaw(acmeBody, signed(now(), acmeBody));
    expect(answer.status).toBe(401);
  });
});

describe('bad input → a clear 4xx and nothing enqueued', () => {
  it.each([
    ['malformed JSON', '{"tenantId": "acme", ', /Malformed JSON/],
    ['no tenantId', JSON.stringify({ event: 'messages.upsert', payload: { messages: [] } }), /tenantId is required/],
    [
      'a message without key.id',
      JSON.stringify({ tenantId: 'acme', payload: { messages: [{ key: { remoteJid: '1@s.whatsapp.net' } }] } }),
      /payload\.messages\[0\]\.key\.id is required/,
    ],
    [
      'a message without key.remoteJid',
      JSON.stringify({ tenantId: 'acme', payload: { messages: [{ key: { id: 'X' } }] } }),
      /payload\.messages\[0\]\.key\.remoteJid is required/,
    ],
    ['an unknown event', JSON.stringify({ tenantId: 'acme', event: 'chats.update', payload: [] }), /event must be one of/],
    ['receipts that are not a list', JSON.stringify({ tenantId: 'acme', event: 'messages.update', payload: {} }), /payload/],
  ])('400 for %s', async (_label, payload, message) => {
    const answer = await harness.post(payload);
    expect(answer.status).toBe(400);
    expect(answer.body['error']).toBe('bad_request');
    expect(String(answer.body['message'])).toMatch(message);
    expect(await totalJobs()).toBe(0);
  });

  it('a batch with one bad message enqueues none of it', async () => {
    const body = fixtureBody('upsert-two-lid-and-group.json') as { payload: { messages: Array<{ key: Record<string, unknown> }> } };
    delete body.payload.messages[1]?.key['id'];
    const answer = await harness.post(body);
    expect(answer.status).toBe(400);
    expect(await totalJobs()).toBe(0);
  });

  it('413 over WEBHOOK_BODY_LIMIT', async () => {
    const big = textMessageBody({ id: 'BIG', text: 'x'.repeat(70_000) });
    const answer = await harness.post(big);
    expect(answer).toEqual({ status: 413, body: { error: 'payload_too_large' } });
    expect(await totalJobs()).toBe(0);
  });

  it('415 when the body is not JSON', async () => {
    const response = await harness.app.inject({
      method: 'POST',
      url: '/webhook/whatsapp/incoming',
      headers: { 'content-type': 'text/plain', 'x-internal-secret': 'irrelevant' },
      payload: 'hello',
    });
    expect(response.statusCode).toBe(415);
    expect(response.json()).toEqual({ error: 'unsupported_media_type' });
    expect(await totalJobs()).toBe(0);
  });

  it('404 for an unknown tenant', async () => {
    const answer = await harness.post(fixtureBody('upsert-text.json', 'nobody'));
    expect(answer).toEqual({ status: 404, body: { error: 'unknown_tenant' } });
    expect(await totalJobs()).toBe(0);
  });
});
