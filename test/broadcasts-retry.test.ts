/**
 * Issue 5: "3 failed sends (gateway 400) show in the console with their reason; retry from the page
 * re-runs them." The console calls `POST /api/queues/:queue/failed/:id/retry`; here the same endpoint
 * is called through the app, against a real worker, Redis, PostgreSQL and the fake gateway over HTTP.
 *
 * A retried send really sends, exactly once, under the same idempotency key as the refused attempt
 * (the endpoint re-arms the recipient and its outbox row before the job goes back in line), while a
 * re-run that is not an operator's retry (a stalled job re-run, or a job moved back by other means)
 * sends nothing and fails again with the reason. The same holds for a reply's `send_message`.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { outboxIdempotencyKey, sendJobId } from '../src/queue/job-ids.js';
import { adminAuth, recipients, type BroadcastProgress } from './support/broadcasts.js';
import type { TestDatabase } from './support/database.js';
import type { FakeGateway } from './support/fake-gateway.js';
import { nowSeconds, textMessageBody } from './support/fixtures.js';
import type { Harness } from './support/harness.js';
import { startTestStack, type TestStack } from './support/stack.js';
import { waitFor } from './support/wait.js';

const TENANT = 'retry';
const REFUSAL = { error: 'bad_request', message: 'recipient is not on WhatsApp' };

let stack: TestStack;
let db: TestDatabase;
let harness: Harness;
let gateway: FakeGateway;

interface JobView {
  id: string;
  name: string;
  state: string;
  data: { tenantId: string; broadcastId?: string; recipientId?: string; outboxId?: string };
  attemptsMade: number;
  failedReason: string | null;
}

async function call<T>(method: 'GET' | 'POST', url: string, body?: unknown): Promise<{ status: number; body: T }> {
  const response = await harness.app.inject({ method, url, headers: adminAuth, ...(body === undefined ? {} : { payload: body as object }) });
  return { status: response.statusCode, body: response.json<T>() };
}

async function progressOf(id: string): Promise<BroadcastProgress> {
  const answer = await call<BroadcastProgress>('GET', `/api/tenants/${TENANT}/broadcasts/${id}`);
  expect(answer.status).toBe(200);
  return answer.body;
}

async function waitForProgress(id: string, matches: (view: BroadcastProgress) => boolean, what: string): Promise<BroadcastProgress> {
  return waitFor(
    async () => {
      const view = await progressOf(id);
      return matches(view) ? view : undefined;
    },
    { what },
  );
}

async function failedJobs(queue: string): Promise<{ items: JobView[]; total: number }> {
  const answer = await call<{ items: JobView[]; total: number }>('GET', `/api/queues/${queue}/failed?limit=100`);
  expect(answer.status).toBe(200);
  return answer.body;
}

async function failedCount(queue: string): Promise<number | undefined> {
  const answer = await call<{ queues: Array<{ name: string; counts: Record<string, number> }> }>('GET', '/api/queues');
  return answer.body.queues.find((q) => q.name === queue)?.counts['failed'];
}

const retryUrl = (queue: string, id: string) => `/api/queues/${queue}/failed/${encodeURIComponent(id)}/retry`;

beforeAll(async () => {
  stack = await startTestStack({ env: { WORKER_CONCURRENCY: '8,broadcasts=16', REPLY_DEBOUNCE_MS: '100', SUMMARY_IDLE_MS: '300000' } });
  ({ db, harness, gateway } = stack);
  await harness.container.tenants.create({ id: TENANT, name: 'Retry', webhook_secret: null, system_prompt: null });
  await harness.startWorker();
});

afterEach(() => stack.assertNoUnexpected());

// teardown(), not close(): the afterEach above already asserts after every test.
afterAll(() => stack?.teardown());

describe('retrying failed broadcast sends', () => {
  it('shows the 3 refused sends with the reason; a retry sends each once more under the same key, and the broadcast completes with all sent', async () => {
    const jids = recipients(50, 10);
    gateway.failNext(3, 400, REFUSAL);
    const created = await call<BroadcastProgress>('POST', `/api/tenants/${TENANT}/broadcasts`, {
      name: 'Promo',
      text: 'Our promo',
      recipients: jids,
      ratePerMinute: 100_000,
    });
    expect(created.status).toBe(201);
    const id = created.body.id;

    // Three refused, seven sent: the bar is full and the broadcast completed, with 3 failed.
    const settled = await waitForProgress(id, (v) => v.state === 'completed', 'the broadcast completed with its failures');
    expect(settled).toMatchObject({ total: 10, sent: 7, failed: 3, pending: 0, progress: 1 });
    const refused = gateway.sends.filter((s) => s.status === 400);
    expect(refused).toHaveLength(3);
    expect(gateway.sends).toHaveLength(10);

    // Visible to operators: the queue overview counts them, the listing gives the gateway's reason.
    await waitFor(async () => (await failedCount('broadcasts')) === 3, { what: 'three failed broadcast jobs' });
    const failed = await failedJobs('broadcasts');
    expect(failed.total).toBe(3);
    for (const job of failed.items) {
      expect(job.name).toBe('broadcast_send');
      expect(job.failedReason).toContain('400');
      expect(job.failedReason).toContain('recipient is not on WhatsApp');
    }
    const refusedTo = new Set(refused.map((s) => s.body.to));
    const failedRows = await db.query<{ to_jid: string; error: string }>(`select to_jid, error from broadcast_recipients where broadcast_id = $1 and state = 'failed'`, [id]);
    expect(new Set(failedRows.map((r) => r.to_jid))).toEqual(refusedTo);

    // A re-run that is not an operator's retry (what a stalled job or any other move back to waiting
    // does) sends nothing and fails again with the reason.
    const [firstFailed] = failed.items;
    if (!firstFailed) throw new Error('no failed job');
    const job = await harness.container.queues.queue('broadcasts').getJob(firstFailed.id);
    await job?.retry('failed');
    const refailed = await waitFor(
      async () => {
        const view = await harness.container.queues.getJob('broadcasts', firstFailed.id);
        return view?.state === 'failed' && view.failedReason?.startsWith('Broadcast send to') ? view : undefined;
      },
      { what: 'the re-run to fail again' },
    );
    expect(refailed.failedReason).toContain('recipient is not on WhatsApp');
    expect(gateway.sends).toHaveLength(10);
    expect((await progressOf(id)).failed).toBe(3);

    // Retrying what is not failed is a clear 409; an unknown job is a 404.
    const completedJobId = (await harness.container.queues.queue('broadcasts').getJobs(['completed'])).find((j) => j.name === 'broadcast_send')?.id;
    if (!completedJobId) throw new Error('no completed broadcast_send job');
    const notFailed = await call<{ error: string; message: string }>('POST', retryUrl('broadcasts', completedJobId));
    expect(notFailed.status).toBe(409);
    expect(notFailed.body.message).toContain('is completed, not failed');
    expect((await call('POST', retryUrl('broadcasts', 'bcast|0|0'))).status).toBe(404);

    // The gateway accepts again. Hold its answers, to see the broadcast reopened while they are pending.
    gateway.holdRequests();
    for (const item of failed.items) {
      const retried = await call<{ id: string; state: string }>('POST', retryUrl('broadcasts', item.id));
      expect(retried.status, JSON.stringify(retried.body)).toBe(200);
      expect(retried.body).toEqual({ id: item.id, queue: 'broadcasts', state: 'waiting' });
    }
    // Re-armed before the jobs went back in line: failed → pending, completed → running.
    const reopened = await progressOf(id);
    expect(reopened).toMatchObject({ state: 'running', sent: 7, failed: 0, pending: 3, finishedAt: null });
    await gateway.waitForSends(13);
    gateway.releaseRequests();

    const done = await waitForProgress(id, (v) => v.state === 'completed', 'the broadcast completed again');
    expect(done).toMatchObject({ total: 10, sent: 10, failed: 0, skipped: 0, pending: 0, progress: 1 });
    expect(done.finishedAt).not.toBeNull();

    // Exactly three more sends, under the keys of the refused attempts, one per refused recipient.
    const retries = gateway.sends.slice(10);
    expect(retries).toHaveLength(3);
    expect(new Set(retries.map((s) => s.idempotencyKey))).toEqual(new Set(refused.map((s) => s.idempotencyKey)));
    expect(retries.every((s) => s.status === 200)).toBe(true);
    for (const jid of jids) expect(gateway.sends.filter((s) => s.body.to === jid && s.status === 200)).toHaveLength(1);

    await waitFor(async () => (await failedCount('broadcasts')) === 0, { what: 'no failed broadcast job left' });
    expect((await failedJobs('broadcasts')).total).toBe(0);
    const rows = await db.query<{ state: string; n: string }>(
      `select o.state, count(*) as n from outbox o join broadcast_recipients r on r.outbox_id = o.id where r.broadcast_id = $1 group by o.state`,
      [id],
    );
    expect(rows).toEqual([{ state: 'sent', n: '10' }]);
  });

  it('refuses to retry a failed send of a cancelled broadcast', async () => {
    const jids = recipients(51, 30);
    gateway.failNext(1, 400, REFUSAL);
    const created = await call<BroadcastProgress>('POST', `/api/tenants/${TENANT}/broadcasts`, { name: 'Drip', text: 'Drip one', recipients: jids, ratePerMinute: 600 });
    expect(created.status).toBe(201);
    const id = created.body.id;
    await waitForProgress(id, (v) => v.failed === 1, 'its first send refused');
    expect((await call('POST', `/api/tenants/${TENANT}/broadcasts/${id}/cancel`)).status).toBe(200);
    const failedJob = await waitFor(async () => (await failedJobs('broadcasts')).items.find((j) => j.data.broadcastId === id), { what: 'its failed job' });

    const refusedRetry = await call<{ message: string }>('POST', retryUrl('broadcasts', failedJob.id));
    expect(refusedRetry.status).toBe(409);
    expect(refusedRetry.body.message).toContain('cancelled');
    expect((await harness.container.queues.getJob('broadcasts', failedJob.id))?.state).toBe('failed');
    const view = await progressOf(id);
    expect(view).toMatchObject({ state: 'cancelled', failed: 1 });
  });
});

describe('retrying a failed reply send', () => {
  it('re-arms the refused outbox row: the retry sends it once, under the same key', async () => {
    const chat = '972555000001@s.whatsapp.net';
    gateway.failNext(1, 400, REFUSAL);
    const before = gateway.sends.length;
    const posted = await harness.post(textMessageBody({ tenantId: TENANT, id: 'RETRY-REPLY-1', remoteJid: chat, text: 'Hello?', timestamp: nowSeconds() }));
    expect(posted.status).toBe(200);

    const failedJob = await waitFor(async () => (await failedJobs('high')).items.find((j) => j.name === 'send_message'), { what: 'the failed reply send' });
    expect(failedJob.failedReason).toContain('400');
    const outboxId = failedJob.data.outboxId ?? '';
    expect(failedJob.id).toBe(sendJobId(TENANT, outboxId));
    const [refused] = gateway.sends.slice(before);
    expect(refused?.status).toBe(400);
    expect(refused?.idempotencyKey).toBe(outboxIdempotencyKey(TENANT, outboxId));

    const retried = await call('POST', retryUrl('high', failedJob.id));
    expect(retried.status).toBe(200);
    await waitFor(async () => (await harness.container.queues.getJob('high', failedJob.id))?.state === 'completed', { what: 'the retried send' });
    const sends = gateway.sends.slice(before);
    expect(sends.map((s) => [s.status, s.idempotencyKey])).toEqual([
      [400, outboxIdempotencyKey(TENANT, outboxId)],
      [200, outboxIdempotencyKey(TENANT, outboxId)],
    ]);
    const [row] = await db.query<{ state: string; wa_message_id: string | null }>('select state, wa_message_id from outbox where id = $1', [outboxId]);
    expect(row).toEqual({ state: 'sent', wa_message_id: sends[1]?.messageId });
  });
});
