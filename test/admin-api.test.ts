/**
 * The tenants admin API and the operator endpoints, through the HTTP surface, against real Redis and
 * PostgreSQL (and a private Redis for the readiness checks that need a misconfigured server).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_ADMIN_TOKEN } from './support/config.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { textMessageBody } from './support/fixtures.js';
import { startHarness, type Harness } from './support/harness.js';
import { PrivateRedis } from './support/private-redis.js';
import { SHARED_REDIS_URL, deletePrefix, uniquePrefix } from './support/redis.js';
import { waitFor } from './support/wait.js';

let db: TestDatabase;
let harness: Harness;
let prefix: string;

const auth = { authorization: `Bearer ${TEST_ADMIN_TOKEN}` };

async function call(method: 'GET' | 'POST' | 'PATCH', url: string, body?: unknown, headers: Record<string, string> = auth) {
  const response = await harness.app.inject({ method, url, headers, ...(body === undefined ? {} : { payload: body as object }) });
  return { status: response.statusCode, body: response.json<Record<string, unknown>>() };
}

beforeAll(async () => {
  db = await createTestDatabase();
  prefix = uniquePrefix();
  harness = await startHarness({ databaseUrl: db.url, redisUrl: SHARED_REDIS_URL, prefix, env: { TENANT_CACHE_TTL_MS: '200' } });
});

afterAll(async () => {
  await harness.close();
  await deletePrefix(prefix);
  await db.drop();
});

describe('tenants', () => {
  it('401 without the admin token, or with a wrong one', async () => {
    expect((await call('GET', '/api/tenants/acme', undefined, {})).status).toBe(401);
    expect((await call('GET', '/api/tenants/acme', undefined, { authorization: 'Bearer wrong' })).body).toEqual({ error: 'unauthorized' });
    expect((await call('POST', '/api/tenants', { id: 'x', name: 'X' }, {})).status).toBe(401);
    expect(await db.query('select id from tenants')).toHaveLength(0);
  });

  it('creates, reads and updates a tenant; the webhook secret is write-only', async () => {
    const created = await call('POST', '/api/tenants', {
      id: 'acme',
      name: 'Acme Dental',
      timezone: 'Asia/Jerusalem',
      webhookSecret: 'a-long-enough-secret-123',
      systemPrompt: 'You are the front desk of Acme Dental.',
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: 'acme', name: 'Acme Dental', timezone: 'Asia/Jerusalem', hasWebhookSecret: true, aiEnabled: true });
    expect(JSON.stringify(created.body)).not.toContain('a-long-enough-secret-123');

    expect((await call('GET', '/api/tenants/acme')).body).toMatchObject({ id: 'acme', name: 'Acme Dental' });
    const patched = await call('PATCH', '/api/tenants/acme', { aiEnabled: false, name: 'Acme' });
    expect(patched.body).toMatchObject({ name: 'Acme', aiEnabled: false, timezone: 'Asia/Jerusalem' });
    const [row] = await db.query('select name, ai_enabled, webhook_secret from tenants where id = $1', ['acme']);
    expect(row).toEqual({ name: 'Acme', ai_enabled: false, webhook_secret: 'a-long-enough-secret-123' });
  });

  it('409 when the id exists; 404 for an unknown tenant; 400 for bad input, nothing stored', async () => {
    expect((await call('POST', '/api/tenants', { id: 'acme', name: 'Again' })).status).toBe(409);
    expect((await call('GET', '/api/tenants/nobody')).status).toBe(404);
    expect((await call('PATCH', '/api/tenants/nobody', { name: 'X' })).status).toBe(404);
    for (const bad of [{ id: 'Bad Id', name: 'X' }, { id: 'ok-id' }, { id: 'ok-id', name: 'X', timezone: 'Mars/Olympus' }, { id: 'ok-id', name: 'X', extra: 1 }]) {
      const answer = await call('POST', '/api/tenants', bad);
      expect(answer.status, JSON.stringify(bad)).toBe(400);
      expect(answer.body['error']).toBe('bad_request');
    }
    expect(await db.query('select id from tenants where id = $1', ['ok-id'])).toHaveLength(0);
  });

  it('a tenant created through the API is known to the webhook at once', async () => {
    await call('POST', '/api/tenants', { id: 'fresh', name: 'Fresh' });
    expect((await harness.post(textMessageBody({ tenantId: 'fresh', id: 'FRESH-1' }))).status).toBe(200);
  });

  it('a tenant created by another process becomes known after the cache TTL', async () => {
    expect((await harness.post(textMessageBody({ tenantId: 'elsewhere', id: 'ELSE-1' }))).status).toBe(404);
    await db.query("insert into tenants (id, name) values ('elsewhere', 'Created by another API process')");
    await waitFor(async () => (await harness.post(textMessageBody({ tenantId: 'elsewhere', id: 'ELSE-1' }))).status === 200, {
      what: 'the tenant cache to refresh',
    });
  });

  it('reply settings: the reply template, the voice-note reply and group replies are set, cleared and shown', async () => {
    const created = await call('POST', '/api/tenants', {
      id: 'clinic',
      name: 'Clinic',
      replyTemplate: 'Hi {name}, we got "{message}".',
      voiceNoteReply: 'Please write to us instead.',
      groupsEnabled: true,
      systemPrompt: 'Be brief.',
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ replyTemplate: 'Hi {name}, we got "{message}".', voiceNoteReply: 'Please write to us instead.', groupsEnabled: true });
    expect((await call('GET', '/api/tenants/fresh')).body).toMatchObject({ replyTemplate: null, voiceNoteReply: null, groupsEnabled: false });

    // null clears a text back to the built-in default (it is not coerced to "" or false on the way).
    const patched = await call('PATCH', '/api/tenants/clinic', { replyTemplate: null, groupsEnabled: false, systemPrompt: null, voiceNoteReply: 'x'.repeat(2000) });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ replyTemplate: null, voiceNoteReply: 'x'.repeat(2000), groupsEnabled: false, systemPrompt: null });
    const [row] = await db.query('select reply_template, voice_note_reply, groups_enabled, system_prompt from tenants where id = $1', ['clinic']);
    expect(row).toEqual({ reply_template: null, voice_note_reply: 'x'.repeat(2000), groups_enabled: false, system_prompt: null });

    for (const bad of [{ replyTemplate: 'x'.repeat(2001) }, { voiceNoteReply: '   ' }, { replyTemplate: '' }, { groupsEnabled: 'yes' }]) {
      const answer = await call('PATCH', '/api/tenants/clinic', bad);
      expect(answer.status, JSON.stringify(bad).slice(0, 80)).toBe(400);
    }
    const [unchanged] = await db.query('select reply_template, voice_note_reply, groups_enabled from tenants where id = $1', ['clinic']);
    expect(unchanged).toEqual({ reply_template: null, voice_note_reply: 'x'.repeat(2000), groups_enabled: false });
  });
});

describe('operator endpoints', () => {
  it('/health and /ready answer 200 when Redis and the database answer', async () => {
    expect((await harness.app.inject({ url: '/health' })).statusCode).toBe(200);
    const ready = await harness.app.inject({ url: '/ready' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ isReady: true, checks: { redis: { ok: true }, database: { ok: true } } });
  });

  it('/metrics counts webhooks by result and enqueue latency', async () => {
    await harness.post(textMessageBody({ tenantId: 'acme', id: 'METRICS-1' }));
    await harness.post(textMessageBody({ tenantId: 'nobody', id: 'METRICS-2' }));
    const text = (await harness.app.inject({ url: '/metrics' })).body;
    expect(text).toMatch(/switchboard_webhooks_total\{result="ok"\} \d+/);
    expect(text).toMatch(/switchboard_webhooks_total\{result="unknown_tenant"\} \d+/);
    expect(text).toMatch(/switchboard_enqueue_duration_seconds_count \d+/);
  });

  it('/ready is 503 with the reason when Redis may evict jobs (maxmemory-policy is not noeviction)', async () => {
    const redis = await PrivateRedis.start();
    const other = await startHarness({ databaseUrl: db.url, redisUrl: redis.url, prefix: uniquePrefix() });
    const client = redis.client();
    try {
      await client.config('SET', 'maxmemory-policy', 'allkeys-lru');
      const ready = await other.app.inject({ url: '/ready' });
      expect(ready.statusCode).toBe(503);
      expect(ready.json()).toMatchObject({ isReady: false, checks: { redis: { ok: false, reason: expect.stringMatching(/allkeys-lru.*noeviction/) } } });
    } finally {
      client.disconnect();
      await other.close();
      await redis.stop();
    }
  });
});

describe('console sign-in', () => {
  it('after 10 wrong tokens from one address, refuses it (even the right token) with 429 and Retry-After; other addresses still sign in', async () => {
    const signIn = (token: string, remoteAddress: string) =>
      harness.app.inject({
        method: 'POST',
        url: '/admin/login',
        remoteAddress,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ token }).toString(),
      });
    for (let i = 0; i < 10; i += 1) expect((await signIn('not-the-token', '203.0.113.7')).statusCode).toBe(401);

    const refused = await signIn(TEST_ADMIN_TOKEN, '203.0.113.7');
    expect(refused.statusCode).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.headers['set-cookie']).toBeUndefined();
    expect(refused.body).toContain('Too many wrong tokens');

    const elsewhere = await signIn(TEST_ADMIN_TOKEN, '203.0.113.8');
    expect(elsewhere.statusCode).toBe(303);
    expect(String(elsewhere.headers['set-cookie'])).toContain('switchboard_console=');
  });
});
