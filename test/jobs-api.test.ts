/**
 * Job status for operators, through the admin API: queue counts and oldest waiting age, a job's
 * state, failed jobs with their reasons, and a retry that re-runs a failed job for real.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messageJobId } from '../src/queue/job-ids.js';
import { buildWebhookBatch, parseEnvelope } from '../src/whatsapp/webhook-envelope.js';
import { TEST_ADMIN_TOKEN } from './support/config.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { textMessageBody } from './support/fixtures.js';
import { startHarness, type Harness } from './support/harness.js';
import { SHARED_REDIS_URL, deletePrefix, uniquePrefix } from './support/redis.js';
import { waitFor } from './support/wait.js';

let db: TestDatabase;
let harness: Harness;
let prefix: string;
const auth = { authorization: `Bearer ${TEST_ADMIN_TOKEN}` };

async function get(url: string) {
  const response = await harness.app.inject({ url, headers: auth });
  return { status: response.statusCode, body: response.json<Record<string, unknown>>() };
}

const jobUrl = (queue: string, id: string) => `/api/jobs/${queue}/${encodeURIComponent(id)}`;

beforeAll(async () => {
  db = await createTestDatabase();
  prefix = uniquePrefix();
  harness = await startHarness({ databaseUrl: db.url, redisUrl: SHARED_REDIS_URL, prefix, env: { JOB_ATTEMPTS: '2' } });
  await harness.container.tenants.create({ id: 'acme', name: 'Acme', webhook_secret: null, system_prompt: null });
});

afterAll(async () => {
  await harness.close();
  await deletePrefix(prefix);
  await db.drop();
});

describe('job status API', () => {
  it('401 without the admin token', async () => {
    expect((await harness.app.inject({ url: '/api/queues' })).statusCode).toBe(401);
  });

  it('lists every queue with its counts and the age of its oldest waiting job', async () => {
    await harness.post(textMessageBody({ id: 'JOBS-WAITING-1' }));
    const { status, body } = await get('/api/queues');
    expect(status).toBe(200);
    const queues = body['queues'] as Array<{ name: string; counts: Record<string, number>; oldestWaitingAgeMs: number | null }>;
    expect(queues.map((q) => q.name)).toEqual(['high', 'default', 'low', 'receipts', 'receipts_sync', 'maintenance', 'recordings', 'broadcasts']);
    const defaultQueue = queues.find((q) => q.name === 'default');
    expect(defaultQueue?.counts['waiting']).toBe(1);
    expect(defaultQueue?.oldestWaitingAgeMs).toBeGreaterThanOrEqual(0);
    expect(queues.find((q) => q.name === 'high')?.oldestWaitingAgeMs).toBeNull();
  });

  it("shows a job's state; 404 for an unknown job, 400 for an unknown queue", async () => {
    const id = messageJobId('acme', { remoteJid: '972501234567@s.whatsapp.net', id: 'JOBS-WAITING-1', fromMe: false });
    const { status, body } = await get(jobUrl('default', id));
    expect(status).toBe(200);
    expect(body).toMatchObject({ id, name: 'webhook_process', queue: 'default', state: 'waiting', attemptsMade: 0, failedReason: null });
    expect((await get(jobUrl('default', 'msg|nope'))).status).toBe(404);
    expect((await get(jobUrl('nowhere', id))).status).toBe(400);
  });

  it('lists a failed job with its reason, and a retry re-runs it', async () => {
    // A message accepted for a tenant that does not exist yet: it fails until the tenant is created.
    const [item0] = buildWebhookBatch(parseEnvelope(textMessageBody({ tenantId: 'late', id: 'JOBS-FAIL-1' })), Date.now()).items;
    if (!item0) throw new Error('no job in the batch');
    await harness.container.queues.enqueueBatch([{ ...item0, jobId: 'msg|late|JOBS-FAIL-1' }]);
    const stopWorker = await harness.startWorker();
    await waitFor(async () => (await harness.container.queues.getJob('default', 'msg|late|JOBS-FAIL-1'))?.state === 'failed', {
      what: 'the job to fail',
    });
    const failed = await get('/api/queues/default/failed?limit=10');
    expect(failed.body).toMatchObject({ total: 1, limit: 10, offset: 0 });
    const [item] = failed.body['items'] as Array<{ id: string; failedReason: string; attemptsMade: number }>;
    expect(item?.id).toBe('msg|late|JOBS-FAIL-1');
    expect(item?.failedReason).toMatch(/foreign key/);
    expect(item?.attemptsMade).toBe(2);

    // Retrying a job that is not failed is refused; an unknown one is 404.
    const notFailedId = messageJobId('acme', { remoteJid: '972501234567@s.whatsapp.net', id: 'JOBS-WAITING-1', fromMe: false });
    await waitFor(async () => (await harness.container.queues.getJob('default', notFailedId))?.state === 'completed', { what: 'the healthy job' });
    const refused = await harness.app.inject({ method: 'POST', url: `/api/queues/default/failed/${encodeURIComponent(notFailedId)}/retry`, headers: auth });
    expect(refused.statusCode).toBe(409);
    expect((await harness.app.inject({ method: 'POST', url: '/api/queues/default/failed/nope/retry', headers: auth })).statusCode).toBe(404);

    await db.query("insert into tenants (id, name) values ('late', 'Late tenant')");
    const retried = await harness.app.inject({ method: 'POST', url: `/api/queues/default/failed/${encodeURIComponent('msg|late|JOBS-FAIL-1')}/retry`, headers: auth });
    expect(retried.statusCode).toBe(200);
    expect(retried.json()).toEqual({ id: 'msg|late|JOBS-FAIL-1', queue: 'default', state: 'waiting' });
    await waitFor(async () => (await harness.container.queues.getJob('default', 'msg|late|JOBS-FAIL-1'))?.state === 'completed', {
      what: 'the retried job to complete',
    });
    expect(await db.query("select 1 from messages where tenant_id = 'late' and wa_message_id = 'JOBS-FAIL-1'")).toHaveLength(1);
    expect((await get('/api/queues/default/failed')).body['total']).toBe(0);
    await stopWorker();
  });
});
