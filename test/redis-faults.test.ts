/**
 * DESIGN.md fault row "Redis stopped, hung (SIGSTOP), or down when the API starts", and "the enqueue
 * ran but its answer was lost", injected for real on a private `redis-server` against a real API
 * process: webhooks answer 503 within 1 s, `/ready` is false, the process survives, and once Redis is
 * back the gateway's retry gets 200 with exactly one job in Redis.
 */
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { messageJobId, type KeyIdentity } from '../src/queue/job-ids.js';
import { TEST_ADMIN_TOKEN, TEST_SECRET } from './support/config.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { fixtureText, textMessageBody } from './support/fixtures.js';
import { PrivateRedis, freePort } from './support/private-redis.js';
import { SwitchboardProcess } from './support/processes.js';
import { uniquePrefix } from './support/redis.js';
import { waitFor } from './support/wait.js';

const UNAVAILABLE_BODY = '{"error":"service_unavailable","message":"Job queue temporarily unavailable"}';
/** The contract: a webhook answers within 1 s whatever Redis does. */
const WEBHOOK_DEADLINE_MS = 1000;
/** `/ready` bounds each probe at 1 s; allow for the HTTP round trip. */
const READY_DEADLINE_MS = 1500;
const TWO_MESSAGE_KEYS: KeyIdentity[] = [
  { remoteJid: '203445566778899@lid', id: '3EB0C1A2B3C4D5E6F70812', fromMe: false },
  { remoteJid: '120363041234567890@g.us', id: 'A5F1E2D3C4B5A6978899', fromMe: false },
];

interface Answer {
  status: number;
  text: string;
  retryAfter: string | null;
  ms: number;
}

interface Api {
  proc: SwitchboardProcess;
  baseUrl: string;
  prefix: string;
}

/** What every 503 latency was, printed once at the end so a slow drift is visible in CI logs. */
const latencies: Array<{ fault: string; ms: number }> = [];

async function request(url: string, init: RequestInit = {}): Promise<Answer> {
  const started = performance.now();
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(3000) });
  const text = await response.text();
  return { status: response.status, text, retryAfter: response.headers.get('retry-after'), ms: performance.now() - started };
}

function post(api: Api, body: unknown): Promise<Answer> {
  return request(`${api.baseUrl}/webhook/whatsapp/incoming`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-internal-secret': TEST_SECRET },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

function ready(api: Api): Promise<Answer> {
  return request(`${api.baseUrl}/ready`);
}

function okBody(counts: { enqueued: number; duplicates: number; ignored?: number }): Record<string, unknown> {
  return { status: 'ok', enqueued: counts.enqueued, duplicates: counts.duplicates, ignored: counts.ignored ?? 0 };
}

/** Posts until the webhook answers 200 (Redis is back), returning that answer. */
async function postUntilOk(api: Api, body: unknown, what: string): Promise<Record<string, unknown>> {
  const answer = await waitFor(
    async () => {
      const attempt = await post(api, body);
      return attempt.status === 200 ? attempt : undefined;
    },
    { timeoutMs: 10_000, intervalMs: 100, what },
  );
  return JSON.parse(answer.text) as Record<string, unknown>;
}

/** Asserts the 503 contract: exact body, Retry-After, within the deadline; the process survives. */
function expectUnavailable(api: Api, answer: Answer, fault: string): void {
  latencies.push({ fault, ms: Math.round(answer.ms) });
  expect(answer.status).toBe(503);
  expect(answer.text).toBe(UNAVAILABLE_BODY);
  expect(answer.retryAfter).toMatch(/^\d+$/);
  expect(answer.ms).toBeLessThan(WEBHOOK_DEADLINE_MS);
  expect(api.proc.isRunning).toBe(true);
}

async function expectNotReady(api: Api): Promise<void> {
  const answer = await ready(api);
  expect(answer.status).toBe(503);
  expect(answer.ms).toBeLessThan(READY_DEADLINE_MS);
  const body = JSON.parse(answer.text) as { isReady: boolean; checks: Record<string, { ok: boolean }> };
  expect(body.isReady).toBe(false);
  expect(body.checks['redis']?.ok).toBe(false);
  expect(api.proc.isRunning).toBe(true);
}

async function withClient<T>(redis: PrivateRedis, fn: (client: Redis) => Promise<T>): Promise<T> {
  const client = redis.client();
  try {
    return await fn(client);
  } finally {
    client.disconnect();
  }
}

/** How many times the job exists: its hash, and its id in the wait list (a double add would show twice). */
async function jobCopies(redis: PrivateRedis, prefix: string, jobId: string): Promise<{ hash: number; waiting: number }> {
  return withClient(redis, async (client) => {
    const hash = await client.exists(`${prefix}:default:${jobId}`);
    const waiting = (await client.lrange(`${prefix}:default:wait`, 0, -1)).filter((id) => id === jobId).length;
    return { hash, waiting };
  });
}

/** Every message job hash under the prefix (the server is private: KEYS is fine). */
async function messageJobKeys(redis: PrivateRedis, prefix: string): Promise<string[]> {
  return withClient(redis, async (client) => (await client.keys(`${prefix}:default:msg*`)).sort());
}

async function startApi(db: TestDatabase, redisUrl: string): Promise<Api> {
  const port = await freePort();
  const prefix = uniquePrefix();
  const proc = SwitchboardProcess.spawn({
    SERVICE_ROLE: 'api',
    PORT: String(port),
    HOST: '127.0.0.1',
    REDIS_URL: redisUrl,
    DATABASE_URL: db.url,
    INTERNAL_SECRET: TEST_SECRET,
    ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    QUEUE_PREFIX: prefix,
    LOG_LEVEL: 'info',
  });
  await proc.waitForLog('API listening');
  return { proc, baseUrl: `http://127.0.0.1:${port}`, prefix };
}

async function stopApi(api: Api | undefined): Promise<void> {
  if (!api) return;
  await api.proc.kill('SIGTERM');
}

/** No crash: still running, no fatal line, no unhandled rejection, no 500, nothing on stderr but warnings. */
function expectNoCrash(api: Api): void {
  expect(api.proc.isRunning).toBe(true);
  const crashes = api.proc.lines.filter(
    (line) =>
      (typeof line['level'] === 'number' && line['level'] >= 60) ||
      line.msg === 'Unhandled promise rejection' ||
      line.msg === 'Uncaught exception; exiting' ||
      line.msg === 'Request failed',
  );
  expect(crashes).toEqual([]);
  expect(api.proc.stderr.join('')).not.toMatch(/error|unhandled|uncaught/i);
}

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
  await db.query("insert into tenants (id, name) values ('acme', 'Acme')");
});

afterAll(async () => {
  console.info(`503 latencies (ms): ${latencies.map((l) => `${l.fault}=${l.ms}`).join(', ')}`);
  await db?.drop();
});

describe('a running API whose Redis fails', () => {
  let redis: PrivateRedis;
  let api: Api;

  beforeAll(async () => {
    redis = await PrivateRedis.start();
    api = await startApi(db, redis.url);
  });

  afterAll(async () => {
    await stopApi(api);
    await redis?.stop();
  });

  // A failed test must not leave the next one with a paused, dead or full Redis.
  afterEach(async () => {
    redis.resume();
    if (!(await redis.ping())) await redis.start();
    await withClient(redis, (client) => client.config('SET', 'maxmemory', '0'));
  });

  it('the gateway retrying an enqueued message gets 200 as a duplicate; one job', async () => {
    const body = textMessageBody({ id: 'ANSWERLOST0001' });
    const jobId = messageJobId('acme', { remoteJid: '972501234567@s.whatsapp.net', id: 'ANSWERLOST0001', fromMe: false });

    const first = await post(api, body);
    expect(first.status).toBe(200);
    expect(JSON.parse(first.text)).toEqual(okBody({ enqueued: 1, duplicates: 0 }));

    const retry = await post(api, body);
    expect(retry.status).toBe(200);
    expect(JSON.parse(retry.text)).toEqual(okBody({ enqueued: 0, duplicates: 1 }));
    expect(await jobCopies(redis, api.prefix, jobId)).toEqual({ hash: 1, waiting: 1 });
  });

  it('Redis hung (SIGSTOP) → 503 within 1 s, /ready false; after SIGCONT the retry gets 200 as a duplicate, one job', async () => {
    const body = textMessageBody({ id: 'SIGSTOP0001' });
    const jobId = messageJobId('acme', { remoteJid: '972501234567@s.whatsapp.net', id: 'SIGSTOP0001', fromMe: false });

    redis.pause();
    expectUnavailable(api, await post(api, body), 'sigstop');
    expectUnavailable(api, await post(api, body), 'sigstop-again');
    await expectNotReady(api);

    redis.resume();
    // The transactions sent while Redis was stopped sat in its socket and ran on SIGCONT, after the API
    // had given up and answered 503: the "enqueue ran but its answer was lost" fault, for real. The
    // gateway's retry therefore gets 200 as a duplicate, and the job exists once.
    expect(await postUntilOk(api, body, 'a 200 after SIGCONT')).toEqual(okBody({ enqueued: 0, duplicates: 1 }));
    expect(await jobCopies(redis, api.prefix, jobId)).toEqual({ hash: 1, waiting: 1 });
    await waitFor(async () => (await ready(api)).status === 200, { timeoutMs: 5000, what: '/ready 200 after SIGCONT' });
    expect(api.proc.isRunning).toBe(true);
  });

  it('Redis killed → 503 within 1 s, /ready 503; restarted on the same port → the re-post is enqueued once', async () => {
    const body = textMessageBody({ id: 'KILLED0001' });
    const jobId = messageJobId('acme', { remoteJid: '972501234567@s.whatsapp.net', id: 'KILLED0001', fromMe: false });

    await redis.kill();
    expectUnavailable(api, await post(api, body), 'killed');
    await expectNotReady(api);
    expectUnavailable(api, await post(api, body), 'killed-again');

    await redis.start();
    // The killed server kept nothing (no persistence) and the outage posts never reached it.
    expect(await postUntilOk(api, body, 'a 200 after the restart')).toEqual(okBody({ enqueued: 1, duplicates: 0 }));
    expect(await jobCopies(redis, api.prefix, jobId)).toEqual({ hash: 1, waiting: 1 });
    expect(JSON.parse((await post(api, body)).text)).toEqual(okBody({ enqueued: 0, duplicates: 1 }));
    expect(await jobCopies(redis, api.prefix, jobId)).toEqual({ hash: 1, waiting: 1 });
    await waitFor(async () => (await ready(api)).status === 200, { timeoutMs: 5000, what: '/ready 200 after the restart' });
  });

  it('Redis full (OOM) → a two-message batch gets 503 and leaves no job; with memory back → 200, enqueued 2', async () => {
    const batch = fixtureText('upsert-two-lid-and-group.json');
    const jobIds = TWO_MESSAGE_KEYS.map((key) => messageJobId('acme', key));
    const jobKeys = jobIds.map((id) => `${api.prefix}:default:${id}`).sort();
    const before = await messageJobKeys(redis, api.prefix);
    for (const key of jobKeys) expect(before).not.toContain(key);

    await withClient(redis, async (client) => {
      const info = await client.info('memory');
      const used = Number(/^used_memory:(\d+)/m.exec(info)?.[1]);
      expect(used).toBeGreaterThan(0);
      // Below what is already used: every write (deny-oom command) is refused from now on.
      await client.config('SET', 'maxmemory', String(Math.max(1, used - 256 * 1024)));
    });
    expectUnavailable(api, await post(api, batch), 'oom');
    const afterOom = await messageJobKeys(redis, api.prefix);
    for (const key of jobKeys) expect(afterOom).not.toContain(key);
    for (const id of jobIds) expect(await jobCopies(redis, api.prefix, id)).toEqual({ hash: 0, waiting: 0 });

    await withClient(redis, (client) => client.config('SET', 'maxmemory', '0'));
    const answer = await post(api, batch);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toEqual(okBody({ enqueued: 2, duplicates: 0 }));
    for (const id of jobIds) expect(await jobCopies(redis, api.prefix, id)).toEqual({ hash: 1, waiting: 1 });
  });

  it('through all of it the API never exited nor logged a crash; each 503 left a warning', () => {
    expectNoCrash(api);
    expect(api.proc.hasLog('Enqueue failed; answered 503')).toBe(true);
  });
});

describe('an API started while Redis is down', () => {
  let redis: PrivateRedis;
  let api: Api | undefined;

  beforeAll(async () => {
    // Reserve a port for this Redis, then take it down: the API starts with nothing listening there.
    redis = await PrivateRedis.start();
    await redis.kill();
  });

  afterAll(async () => {
    await stopApi(api);
    await redis?.stop();
  });

  it('starts and listens, answers 503 within 1 s with /ready 503, then 200 once Redis starts', async () => {
    expect(await redis.ping()).toBe(false);
    const started = await startApi(db, redis.url);
    api = started;
    const body = textMessageBody({ id: 'COLDSTART0001' });
    const jobId = messageJobId('acme', { remoteJid: '972501234567@s.whatsapp.net', id: 'COLDSTART0001', fromMe: false });

    expectUnavailable(started, await post(started, body), 'down-at-start');
    await expectNotReady(started);
    expectUnavailable(started, await post(started, body), 'down-at-start-again');

    await redis.start();
    const answer = await postUntilOk(started, body, 'a 200 once Redis started');
    // The 503'd requests' enqueues were still waiting for the first connection and may have run when it
    // came up, so this retry is new or a duplicate; either way there is one job.
    expect(Number(answer['enqueued']) + Number(answer['duplicates'])).toBe(1);
    expect(await jobCopies(redis, started.prefix, jobId)).toEqual({ hash: 1, waiting: 1 });
    await waitFor(async () => (await ready(started)).status === 200, { timeoutMs: 5000, what: '/ready 200 once Redis started' });
    expectNoCrash(started);
    // Every refused reconnect made one outage, logged once, not once per attempt.
    expect(started.proc.lines.filter((line) => line.msg === 'Redis connection lost; retrying')).toHaveLength(1);
    expect(started.proc.hasLog('Redis connection restored')).toBe(true);
  });
});
