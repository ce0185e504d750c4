/**
 * Failures a worker survives: a poison message fails after its attempts and stays visible with its
 * reason while other messages flow; PostgreSQL going away makes jobs retry with backoff and complete
 * once it is back, without duplicates.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messageJobId } from '../src/queue/job-ids.js';
import { buildWebhookBatch, parseEnvelope } from '../src/whatsapp/webhook-envelope.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { textMessageBody } from './support/fixtures.js';
import { startHarness, type Harness } from './support/harness.js';
import { SHARED_REDIS_URL, deletePrefix, uniquePrefix } from './support/redis.js';
import { TcpProxy } from './support/tcp-proxy.js';
import { waitFor } from './support/wait.js';

let db: TestDatabase;
let proxy: TcpProxy;
let harness: Harness;
let prefix: string;

const jobIdFor = (tenantId: string, id: string) => messageJobId(tenantId, { remoteJid: '972501234567@s.whatsapp.net', id, fromMe: false });

beforeAll(async () => {
  db = await createTestDatabase();
  proxy = await TcpProxy.start(5432);
  prefix = uniquePrefix();
  // The worker reaches PostgreSQL through the proxy, so the test can take the database away.
  harness = await startHarness({
    databaseUrl: db.url.replace(':5432/', `:${proxy.port}/`),
    redisUrl: SHARED_REDIS_URL,
    prefix,
    env: { JOB_ATTEMPTS: '3', JOB_BACKOFF_MS: '50', DATABASE_POOL_SIZE: '2' },
  });
  await harness.container.tenants.create({ id: 'acme', name: 'Acme', webhook_secret: null, system_prompt: null });
  await harness.startWorker();
});

afterAll(async () => {
  await harness.close();
  await proxy.cut();
  await deletePrefix(prefix);
  await db.drop();
});

describe('a poison message', () => {
  it('fails after its attempts with its reason visible, and other messages are unaffected', async () => {
    // A message accepted for a tenant that was deleted before the worker ran: every attempt fails.
    const batch = buildWebhookBatch(parseEnvelope(textMessageBody({ tenantId: 'ghost', id: 'POISON-1' })), Date.now());
    await harness.container.queues.enqueueBatch(batch.items);
    await harness.post(textMessageBody({ tenantId: 'acme', id: 'HEALTHY-1' }));

    const failed = await waitFor(async () => {
      const job = await harness.container.queues.getJob('default', jobIdFor('ghost', 'POISON-1'));
      return job?.state === 'failed' ? job : undefined;
    }, { what: 'the poison job to fail' });
    expect(failed.attemptsMade).toBe(3);
    expect(failed.failedReason).toMatch(/foreign key/);
    await waitFor(async () => (await db.query('select 1 from messages where wa_message_id = $1', ['HEALTHY-1'])).length === 1, {
      what: 'the healthy message stored',
    });
    const counts = await harness.container.queues.getJobCounts('default');
    expect(counts['failed']).toBe(1);
  });

  it('an invalid payload fails at once, without retries', async () => {
    await harness.container.queues.enqueueBatch([
      // Not reachable through the webhook, which validates first: a hand-made or stale job in Redis.
      { name: 'webhook_process', jobId: 'msg|hand-made|1', payload: { tenantId: 'acme', upsertType: 'notify', receivedAt: 0, message: { key: { remoteJid: '', id: 'x', fromMe: false } } } },
    ]);
    const failed = await waitFor(async () => {
      const job = await harness.container.queues.getJob('default', 'msg|hand-made|1');
      return job?.state === 'failed' ? job : undefined;
    }, { what: 'the invalid job to fail' });
    expect(failed.attemptsMade).toBeLessThanOrEqual(1);
    expect(failed.failedReason).toMatch(/Invalid payload/);
  });
});

describe('PostgreSQL unreachable', () => {
  it('jobs retry with backoff while it is away and complete once it is back, with no duplicate rows', async () => {
    await proxy.cut();
    const ids = ['PG-DOWN-1', 'PG-DOWN-2', 'PG-DOWN-3'];
    for (const id of ids) expect((await harness.post(textMessageBody({ tenantId: 'acme', id }))).status).toBe(200);
    // Every job has failed at least once against the missing database and is waiting to retry.
    await waitFor(async () => {
      const jobs = await Promise.all(ids.map((id) => harness.container.queues.getJob('default', jobIdFor('acme', id))));
      return jobs.every((j) => j && j.attemptsMade >= 1 && j.state !== 'completed');
    }, { what: 'a failed attempt on every job' });
    await proxy.restore();
    for (const id of ids) {
      await waitFor(async () => (await harness.container.queues.getJob('default', jobIdFor('acme', id)))?.state === 'completed', {
        what: `${id} completed`,
      });
    }
    const rows = await db.query<{ wa_message_id: string }>('select wa_message_id from messages where wa_message_id = any($1) order by 1', [ids]);
    expect(rows.map((r) => r.wa_message_id)).toEqual(ids);
  });
});
