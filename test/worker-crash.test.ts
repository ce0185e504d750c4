/**
 * DESIGN.md's fault table, rows "worker SIGKILL mid-job" and "worker SIGTERM", against real worker
 * processes (`node --import tsx src/main.ts`), the shared Redis under a unique prefix and a fresh
 * PostgreSQL database.
 *
 * A job is held mid-flight for real, without code hooks: the test takes the message identity's
 * advisory lock (the one the store function `switchboard_store_message` takes first), so the job's
 * handler blocks inside its store statement, `active` in BullMQ, until the test lets go.
 */
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { JobSnapshot, JobState } from '../src/queue/job-queues.js';
import { messageJobId } from '../src/queue/job-ids.js';
import { buildWebhookBatch, parseEnvelope } from '../src/whatsapp/webhook-envelope.js';
import { TEST_ADMIN_TOKEN, TEST_SECRET } from './support/config.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { textMessageBody } from './support/fixtures.js';
import { startHarness, type Harness } from './support/harness.js';
import { startRole, type StartedRole, type SwitchboardProcess } from './support/processes.js';
import { SHARED_REDIS_URL, deletePrefix, uniquePrefix } from './support/redis.js';
import { waitFor } from './support/wait.js';

const TENANT = 'acme';
const REMOTE_JID = '972501234567@s.whatsapp.net';
const STALLED_LOG = 'Job stalled (its worker stopped); it will run again';

let db: TestDatabase;
let harness: Harness;
let prefix: string;
const processes: SwitchboardProcess[] = [];
const lockClients: pg.Client[] = [];
/**
 * The assertions' own connection, ended before the database is dropped. (`TestDatabase.query`'s pool
 * resolves `end()` before its sockets close and has no 'error' listener, so `DROP DATABASE … WITH
 * (FORCE)` can kill a closing connection and surface an unhandled 57P01 error.)
 */
let sql: pg.Client;

async function query<R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
  return (await sql.query<R>(text, values)).rows;
}

async function spawnWorker(env: Record<string, string> = {}): Promise<StartedRole> {
  const worker = await startRole('worker', {
    REDIS_URL: SHARED_REDIS_URL,
    QUEUE_PREFIX: prefix,
    DATABASE_URL: db.url,
    WORKER_QUEUES: 'default',
    WORKER_LOCK_MS: '2000',
    WORKER_STALLED_INTERVAL_MS: '1000',
    ...env,
  });
  processes.push(worker.proc);
  return worker;
}

function jobIdOf(waMessageId: string): string {
  return messageJobId(TENANT, { remoteJid: REMOTE_JID, id: waMessageId, fromMe: false });
}

/** Posts one text message through the webhook; returns its job id. */
async function postMessage(waMessageId: string): Promise<string> {
  const answer = await harness.post(textMessageBody({ tenantId: TENANT, id: waMessageId, remoteJid: REMOTE_JID }));
  expect(answer).toEqual({ status: 200, body: { status: 'ok', enqueued: 1, duplicates: 0, ignored: 0 } });
  return jobIdOf(waMessageId);
}

/** Takes the message identity's advisory lock in an open transaction, as `lockIdentity` does. */
async function holdIdentityLock(waMessageId: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  lockClients.push(client);
  await client.query('BEGIN');
  await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [JSON.stringify([TENANT, REMOTE_JID, waMessageId, false])]);
  return client;
}

async function releaseLock(client: pg.Client): Promise<void> {
  await client.query('ROLLBACK');
  await client.end();
  lockClients.splice(lockClients.indexOf(client), 1);
}

/** Sessions of the test database waiting for an advisory lock: a job blocked inside its store statement. */
async function blockedOnAdvisoryLock(): Promise<number> {
  const [row] = await query<{ n: string }>(
    `select count(*) as n from pg_locks l join pg_database d on d.oid = l.database
      where d.datname = $1 and l.locktype = 'advisory' and not l.granted`,
    [db.name],
  );
  return Number(row?.n);
}

/** Sessions of the test database waiting for a lock inside a batched store (`switchboard_store_messages`). */
async function batchesWaitingOnALock(): Promise<number> {
  const [row] = await query<{ n: string }>(
    `select count(*) as n from pg_stat_activity
      where datname = $1 and wait_event_type = 'Lock' and query like '%switchboard_store_messages(%'`,
    [db.name],
  );
  return Number(row?.n);
}

/** Waits until the job is active in BullMQ and its handler is blocked on the held identity lock. */
async function waitUntilHeldMidJob(jobId: string): Promise<void> {
  await waitFor(async () => (await jobState(jobId)) === 'active', { what: `job ${jobId} active` });
  await waitFor(async () => (await blockedOnAdvisoryLock()) === 1, { what: 'the store statement to wait on the identity lock' });
}

/** Waits until the job has finished, either way, and asserts it completed (a failure shows its reason). */
async function waitForCompleted(jobId: string, timeoutMs = 20_000): Promise<JobSnapshot> {
  const job = await waitFor(
    async () => {
      const snapshot = await harness.container.queues.getJob('default', jobId);
      return snapshot?.state === 'completed' || snapshot?.state === 'failed' ? snapshot : undefined;
    },
    { timeoutMs, what: `job ${jobId} to finish` },
  );
  expect({ state: job.state, failedReason: job.failedReason }).toEqual({ state: 'completed', failedReason: null });
  return job;
}

async function jobState(jobId: string): Promise<JobState | undefined> {
  return (await harness.container.queues.getJob('default', jobId))?.state;
}

async function storedRows(waMessageId: string): Promise<number> {
  const [row] = await query<{ n: string }>(
    'select count(*) as n from messages where tenant_id = $1 and remote_jid = $2 and wa_message_id = $3 and from_me = false',
    [TENANT, REMOTE_JID, waMessageId],
  );
  return Number(row?.n);
}

/** BullMQ's own counters, which the `JobSnapshot` does not carry. */
async function attemptCounters(jobId: string): Promise<{ attemptsMade: number; attemptsStarted: number; stalledCounter: number }> {
  const job = await harness.container.queues.queue('default').getJob(jobId);
  if (!job) throw new Error(`job ${jobId} not found`);
  return { attemptsMade: job.attemptsMade, attemptsStarted: job.attemptsStarted, stalledCounter: job.stalledCounter };
}

beforeAll(async () => {
  db = await createTestDatabase();
  prefix = uniquePrefix();
  harness = await startHarness({ databaseUrl: db.url, redisUrl: SHARED_REDIS_URL, prefix });
  await harness.container.tenants.create({ id: TENANT, name: 'Acme', webhook_secret: null, system_prompt: null });
  sql = new pg.Client({ connectionString: db.url });
  await sql.connect();
  // The webhook fails fast (503) while the producer connection is still connecting.
  await waitFor(async () => (await harness.container.queues.health()).isReady, { what: 'the producer Redis connection' });
});

afterEach(async () => {
  for (const client of lockClients.splice(0)) await client.end().catch(() => undefined);
  await Promise.all(processes.splice(0).map((p) => p.kill('SIGKILL')));
});

afterAll(async () => {
  await sql.end();
  await harness.close();
  await deletePrefix(prefix);
  await db.drop();
});

describe('worker SIGKILL', () => {
  it('mid-job: the job re-runs on another worker after its lock expires; one stored message', async () => {
    const waMessageId = 'CRASH-SIGKILL-0001';
    const lock = await holdIdentityLock(waMessageId);
    const first = await spawnWorker();
    const jobId = await postMessage(waMessageId);
    await waitUntilHeldMidJob(jobId);

    expect(await first.proc.kill('SIGKILL')).toBeNull();
    expect(first.proc.child.signalCode).toBe('SIGKILL');
    await releaseLock(lock);
    // The killed worker's store was one statement already inside PostgreSQL, waiting for the lock:
    // the server runs it to its end although its client is gone. Nobody has finished the job.
    await waitFor(async () => (await storedRows(waMessageId)) === 1, { what: 'the killed attempt\'s statement to finish' });
    expect(await jobState(jobId)).toBe('active');

    const second = await spawnWorker();
    const done = await waitForCompleted(jobId);
    await second.proc.waitForLog(STALLED_LOG, (l) => l['jobId'] === jobId);
    // The line may reach us through the pipe after Redis already says completed: wait for it.
    await second.proc.waitForLog('Job finished', (l) => l['jobId'] === jobId);
    // The re-run found the message stored and stored nothing more.
    expect(done.returnValue).toMatchObject({ outcome: 'already_stored' });
    expect(await storedRows(waMessageId)).toBe(1);
    // A stall is not a failed attempt: two starts, one stall, one attempt made (the successful one).
    expect(await attemptCounters(jobId)).toEqual({ attemptsMade: 1, attemptsStarted: 2, stalledCounter: 1 });
  });

  it('mid-batch: messages stored together in one statement re-run after the kill; one row each', async () => {
    const [first, second, third] = ['CRASH-BATCH-0001', 'CRASH-BATCH-0002', 'CRASH-BATCH-0003'];
    const firstLock = await holdIdentityLock(first);
    const thirdLock = await holdIdentityLock(third);
    const worker = await spawnWorker();
    const firstJob = await postMessage(first);
    await waitUntilHeldMidJob(firstJob);
    // One batch at a time per process: the next two wait for the first store, then go out together.
    const laterJobs = [await postMessage(second), await postMessage(third)];
    for (const jobId of laterJobs) await waitFor(async () => (await jobState(jobId)) === 'active', { what: `job ${jobId} active` });
    await releaseLock(firstLock);
    await waitForCompleted(firstJob);
    // Their statement has locked the second message's identity and waits for the third's.
    await waitFor(async () => (await batchesWaitingOnALock()) === 1, { what: 'the batched store to wait on the third identity' });

    expect(await worker.proc.kill('SIGKILL')).toBeNull();
    await releaseLock(thirdLock);
    // The statement runs to its end inside PostgreSQL without its client: both rows, one transaction.
    await waitFor(async () => (await storedRows(second)) === 1 && (await storedRows(third)) === 1, { what: 'the killed batch to finish' });
    const transactions = await query<{ xmin: string }>(
      'select distinct xmin::text from messages where tenant_id = $1 and wa_message_id = any($2)',
      [TENANT, [second, third]],
    );
    expect(transactions).toHaveLength(1);
    for (const jobId of laterJobs) expect(await jobState(jobId)).toBe('active');

    await spawnWorker();
    for (const jobId of laterJobs) expect((await waitForCompleted(jobId)).returnValue).toMatchObject({ outcome: 'already_stored' });
    for (const waMessageId of [first, second, third]) expect(await storedRows(waMessageId)).toBe(1);
  });

  it('a re-run after the row was written changes nothing (the identity is unique)', async () => {
    const waMessageId = 'CRASH-RERUN-0001';
    const worker = await spawnWorker();
    const jobId = await postMessage(waMessageId);
    const first = await waitForCompleted(jobId);
    expect(first.returnValue).toMatchObject({ outcome: 'stored' });

    // What a crash between the commit and BullMQ's completion amounts to: the same job runs again.
    const batch = buildWebhookBatch(parseEnvelope(textMessageBody({ tenantId: TENANT, id: waMessageId, remoteJid: REMOTE_JID })), Date.now());
    const rerunId = `${jobId}|rerun`;
    const [item] = batch.items;
    if (!item) throw new Error('the batch has no job');
    expect(await harness.container.queues.enqueueBatch([{ ...item, jobId: rerunId }])).toEqual([{ jobId: rerunId, isDuplicate: false }]);

    const rerun = await waitForCompleted(rerunId);
    expect(rerun.returnValue).toMatchObject({ outcome: 'already_stored', messageId: (first.returnValue as { messageId: string }).messageId });
    await worker.proc.waitForLog('Message already stored', (l) => l['jobId'] === rerunId);
    expect(await storedRows(waMessageId)).toBe(1);
  });
});

describe('worker SIGTERM', () => {
  it('drains: the in-flight job finishes within the grace period, then the process exits 0', async () => {
    const waMessageId = 'CRASH-SIGTERM-DRAIN-0001';
    const lock = await holdIdentityLock(waMessageId);
    const worker = await spawnWorker({ SHUTDOWN_GRACE_MS: '10000' });
    const jobId = await postMessage(waMessageId);
    await waitUntilHeldMidJob(jobId);

    const signalledAt = Date.now();
    worker.proc.child.kill('SIGTERM');
    await worker.proc.waitForLog('Shutting down');
    await worker.proc.waitForLog('Worker draining in-flight jobs');
    // Still waiting for its job, not gone.
    expect(worker.proc.isRunning).toBe(true);
    expect(await jobState(jobId)).toBe('active');

    await releaseLock(lock);
    const code = await worker.proc.exited;
    const elapsedMs = Date.now() - signalledAt;
    expect(code).toBe(0);
    expect(elapsedMs).toBeLessThan(10_000);
    expect(worker.proc.hasLog('Job finished', (l) => l['jobId'] === jobId)).toBe(true);
    expect(worker.proc.hasLog('Worker stopped')).toBe(true);
    expect(worker.proc.hasLog('Stopped')).toBe(true);
    expect(worker.proc.hasLog('Shutdown deadline passed; exiting anyway')).toBe(false);
    // The job was completed in Redis before the process let go of it: no wait needed after the exit.
    expect(await jobState(jobId)).toBe('completed');
    const done = await waitForCompleted(jobId, 0);
    expect(done.returnValue).toMatchObject({ outcome: 'stored' });
    expect(await attemptCounters(jobId)).toEqual({ attemptsMade: 1, attemptsStarted: 1, stalledCounter: 0 });
    expect(await storedRows(waMessageId)).toBe(1);
  });

  it('past the grace period: the process exits anyway and the job re-runs on another worker', async () => {
    const waMessageId = 'CRASH-SIGTERM-GRACE-0001';
    const lock = await holdIdentityLock(waMessageId);
    const worker = await spawnWorker({ SHUTDOWN_GRACE_MS: '1000' });
    const jobId = await postMessage(waMessageId);
    await waitUntilHeldMidJob(jobId);

    const signalledAt = Date.now();
    worker.proc.child.kill('SIGTERM');
    const code = await worker.proc.exited;
    const elapsedMs = Date.now() - signalledAt;
    expect(code).toBe(0);
    expect(elapsedMs).toBeGreaterThanOrEqual(900);
    expect(elapsedMs).toBeLessThan(5000);
    expect(worker.proc.hasLog('Shutting down', (l) => l['graceMs'] === 1000)).toBe(true);
    expect(worker.proc.hasLog('Shutdown deadline passed; exiting anyway')).toBe(true);
    expect(worker.proc.hasLog('Stopped')).toBe(true);
    expect(worker.proc.hasLog('Job finished', (l) => l['jobId'] === jobId)).toBe(false);
    expect(await jobState(jobId)).toBe('active');

    await releaseLock(lock);
    // As with SIGKILL: the store statement the server already had finishes on its own.
    await waitFor(async () => (await storedRows(waMessageId)) === 1, { what: 'the stopped attempt\'s statement to finish' });
    const next = await spawnWorker();
    const done = await waitForCompleted(jobId);
    await next.proc.waitForLog(STALLED_LOG, (l) => l['jobId'] === jobId);
    expect(done.returnValue).toMatchObject({ outcome: 'already_stored' });
    expect(await attemptCounters(jobId)).toEqual({ attemptsMade: 1, attemptsStarted: 2, stalledCounter: 1 });
    expect(await storedRows(waMessageId)).toBe(1);
  });
});

describe('the worker serves no API routes', () => {
  it('answers /health, /ready and /metrics, and nothing else', async () => {
    const { port } = await spawnWorker();
    const base = `http://127.0.0.1:${port}`;

    const health = await fetch(`${base}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });

    const ready = await fetch(`${base}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ isReady: true, checks: { redis: { ok: true }, database: { ok: true } } });

    const metrics = await fetch(`${base}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('switchboard_jobs_total');

    const webhook = await fetch(`${base}/webhook/whatsapp/incoming`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-internal-secret': TEST_SECRET },
      body: JSON.stringify(textMessageBody({ tenantId: TENANT, id: 'CRASH-NOAPI-0001' })),
    });
    expect([404, 405]).toContain(webhook.status);
    await webhook.body?.cancel();
    for (const path of ['/webhook/whatsapp/incoming', '/api/tenants']) {
      const response = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
      expect(response.status, path).toBe(404);
      await response.body?.cancel();
    }
    // Nothing was enqueued for the posted message (other jobs of this file may still be moving).
    const jobId = messageJobId(TENANT, { remoteJid: '972501234567@s.whatsapp.net', id: 'CRASH-NOAPI-0001', fromMe: false });
    expect(await harness.container.queues.getJob('default', jobId)).toBeNull();
  });
});
