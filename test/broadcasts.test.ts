/**
 * Broadcasts (issue 5, items 1–3), end to end: the admin API → PostgreSQL → `broadcast_fanout` and
 * `broadcast_send` jobs on a real Redis → an in-process worker → the outbox → a local fake gateway
 * over real HTTP. Each test uses a tenant of its own (the send rate is per tenant) and recipients of
 * its own numbering range, and counts sends by `to`. The worker-kill acceptance is in
 * broadcasts-crash.test.ts (it needs worker processes).
 */
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { adminAuth, readProgressEvents, recipients, type BroadcastProgress } from './support/broadcasts.js';
import type { TestDatabase } from './support/database.js';
import type { FakeGateway, RecordedSend } from './support/fake-gateway.js';
import type { Harness } from './support/harness.js';
import { startTestStack, type TestStack } from './support/stack.js';
import { waitFor } from './support/wait.js';

let stack: TestStack;
let db: TestDatabase;
let harness: Harness;
let gateway: FakeGateway;

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

async function call(method: 'GET' | 'POST', url: string, body?: unknown): Promise<Answer> {
  const response = await harness.app.inject({ method, url, headers: adminAuth, ...(body === undefined ? {} : { payload: body as object }) });
  return { status: response.statusCode, body: response.json<Record<string, unknown>>() };
}

async function createTenant(id: string): Promise<void> {
  await harness.container.tenants.create({ id, name: id, webhook_secret: null, system_prompt: null });
}

async function createBroadcast(tenantId: string, body: Record<string, unknown>): Promise<BroadcastProgress> {
  const answer = await call('POST', `/api/tenants/${tenantId}/broadcasts`, body);
  expect(answer.status, JSON.stringify(answer.body)).toBe(201);
  return answer.body as unknown as BroadcastProgress;
}

async function progressOf(tenantId: string, id: string): Promise<BroadcastProgress> {
  const answer = await call('GET', `/api/tenants/${tenantId}/broadcasts/${id}`);
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return answer.body as unknown as BroadcastProgress;
}

async function waitForState(tenantId: string, id: string, state: string, timeoutMs = 20_000): Promise<BroadcastProgress> {
  return waitFor(
    async () => {
      const view = await progressOf(tenantId, id);
      return view.state === state ? view : undefined;
    },
    { timeoutMs, what: `broadcast ${id} ${state}` },
  );
}

function sendsTo(jids: readonly string[]): RecordedSend[] {
  const wanted = new Set(jids);
  return gateway.sends.filter((send) => wanted.has(send.body.to));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  stack = await startTestStack({ env: { GATEWAY_TIMEOUT_MS: '5000', WORKER_CONCURRENCY: '8,broadcasts=16' } });
  ({ db, harness, gateway } = stack);
  await harness.startWorker();
});

afterEach(() => stack.assertNoUnexpected());

afterAll(() => stack?.close());

describe('creating a broadcast', () => {
  it('rejects invalid jids with their positions, a list over 100,000 and a missing tenant; removes and counts duplicates', async () => {
    await createTenant('valid');
    const bad = await call('POST', '/api/tenants/valid/broadcasts', {
      name: 'Sale',
      text: 'Hello',
      recipients: ['972500000001@s.whatsapp.net', '+972500000002', '972500000003@s.whatsapp.net', 'abc@lid'],
    });
    expect(bad.status).toBe(400);
    expect(bad.body['message']).toContain('at position(s) 1, 3 ');

    const many = Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? `bad-${i}` : recipients(1, 1)[0]));
    const manyBad = await call('POST', '/api/tenants/valid/broadcasts', { name: 'Sale', text: 'Hello', recipients: many });
    expect(manyBad.status).toBe(400);
    expect(manyBad.body['message']).toContain('25 invalid recipient jid(s) at position(s) 0, 2, 4');
    expect(manyBad.body['message']).toContain('38, …');

    const tooMany = await call('POST', '/api/tenants/valid/broadcasts', { name: 'Big', text: 'Hello', recipients: recipients(2, 100_001) });
    expect(tooMany.status).toBe(400);
    expect(String(tooMany.body['message'])).toContain('100000');

    for (const body of [{ name: 'x', text: '  ', recipients: recipients(3, 1) }, { name: 'x', text: 'y', recipients: [] }, { name: 'x', text: 'y' }]) {
      expect((await call('POST', '/api/tenants/valid/broadcasts', body)).status).toBe(400);
    }
    expect((await call('POST', '/api/tenants/nobody/broadcasts', { name: 'x', text: 'y', recipients: recipients(3, 1) })).status).toBe(404);
    expect(Number((await db.query<{ n: string }>('select count(*) as n from broadcasts'))[0]?.n)).toBe(0);

    const jids = recipients(4, 3);
    const created = await createBroadcast('valid', { name: 'Dupes', text: 'Hi', recipients: [...jids, jids[0], jids[1], jids[0]] });
    expect(created).toMatchObject({ total: 3, duplicatesRemoved: 3, pending: 3, sent: 0, progress: 0 });
    await waitForState('valid', created.id, 'completed');
    expect(sendsTo(jids)).toHaveLength(3);
  });

  it('is scoped by tenant: another tenant reads, lists and controls none of it', async () => {
    await createTenant('owner');
    await createTenant('other');
    const created = await createBroadcast('owner', { name: 'Mine', text: 'Hi', recipients: recipients(5, 2) });
    for (const path of ['', '/events']) expect((await call('GET', `/api/tenants/other/broadcasts/${created.id}${path}`)).status).toBe(404);
    for (const action of ['pause', 'resume', 'cancel']) {
      expect((await call('POST', `/api/tenants/other/broadcasts/${created.id}/${action}`)).status).toBe(404);
    }
    expect((await call('GET', '/api/tenants/other/broadcasts')).body).toMatchObject({ items: [], total: 0 });
    const list = await call('GET', '/api/tenants/owner/broadcasts?limit=10');
    expect(list.body).toMatchObject({ total: 1, limit: 10, offset: 0 });
    expect((list.body['items'] as BroadcastProgress[])[0]?.id).toBe(created.id);
    expect((await call('GET', '/api/tenants/owner/broadcasts/99999999999999999999')).status).toBe(400);
    expect((await call('GET', '/api/tenants/owner/broadcasts/9999999999999999999')).status).toBe(404);
  });
});

describe('processing', () => {
  it('sends 500 recipients exactly once each at a high rate; the bar reaches 100 %; receipts count as delivered and read', async () => {
    await createTenant('bulk');
    const jids = recipients(10, 500);
    const created = await createBroadcast('bulk', { name: 'Launch', text: 'We launched!', recipients: jids, ratePerMinute: 100_000 });
    const done = await waitForState('bulk', created.id, 'completed', 30_000);
    expect(done).toMatchObject({ total: 500, sent: 500, failed: 0, skipped: 0, pending: 0, progress: 1 });
    expect(done.startedAt).not.toBeNull();
    expect(done.finishedAt).not.toBeNull();

    const sends = sendsTo(jids);
    expect(sends).toHaveLength(500);
    expect(new Set(sends.map((s) => s.idempotencyKey)).size).toBe(500);
    expect(new Set(sends.map((s) => s.body.to)).size).toBe(500);
    const rows = await db.query<{ n: string }>(
      `select count(*) as n from outbox o join broadcast_recipients r on r.outbox_id = o.id where r.broadcast_id = $1 and o.purpose = 'broadcast' and o.state = 'sent'`,
      [created.id],
    );
    expect(Number(rows[0]?.n)).toBe(500);

    // Receipts from the gateway: two delivered, one of them also read.
    const [first, second] = sends;
    if (!first?.messageId || !second?.messageId) throw new Error('sends without message ids');
    const receipt = (send: RecordedSend & { messageId: string }, status: number) => ({
      tenantId: 'bulk',
      event: 'messages.update',
      payload: [{ key: { remoteJid: send.body.to, fromMe: true, id: send.messageId }, update: { status } }],
    });
    for (const body of [receipt(first as RecordedSend & { messageId: string }, 3), receipt(second as RecordedSend & { messageId: string }, 4)]) {
      expect((await harness.post(body)).status).toBe(200);
    }
    await waitFor(async () => {
      const view = await progressOf('bulk', created.id);
      return view.delivered === 2 && view.read === 1;
    }, { what: 'delivered 2 and read 1' });
  });

  it('holds the rate: 60 per minute for 10 s → at most 11 sends; cancel → cancelled, the rest skipped, no more sends', async () => {
    await createTenant('slow');
    const jids = recipients(11, 40);
    const created = await createBroadcast('slow', { name: 'Drip', text: 'One by one', recipients: jids, ratePerMinute: 60 });
    const [first] = await waitFor(() => (sendsTo(jids).length > 0 ? sendsTo(jids) : undefined), { what: 'the first send' });
    if (!first) throw new Error('no first send');
    // Observing a rate takes its window: the ten seconds after the first send.
    await sleep(first.receivedAt + 10_000 - Date.now());
    const inWindow = sendsTo(jids).filter((s) => s.receivedAt <= first.receivedAt + 10_000);
    expect(inWindow.length).toBeGreaterThanOrEqual(8);
    expect(inWindow.length).toBeLessThanOrEqual(11);

    const cancelled = await call('POST', `/api/tenants/slow/broadcasts/${created.id}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body['state']).toBe('cancelled');
    // A send claimed just before the cancel still completes; after that nothing moves.
    const settled = await waitFor(async () => {
      const view = await progressOf('slow', created.id);
      return view.pending === 0 ? view : undefined;
    }, { what: 'every recipient settled' });
    expect(settled.state).toBe('cancelled');
    expect(settled.sent + settled.skipped).toBe(40);
    expect(settled.skipped).toBeGreaterThan(20);
    expect(settled.progress).toBe(1);
    const sentAfterCancel = sendsTo(jids).length;
    expect(sentAfterCancel).toBe(settled.sent);
    await sleep(1500);
    expect(sendsTo(jids)).toHaveLength(sentAfterCancel);
    expect((await call('POST', `/api/tenants/slow/broadcasts/${created.id}/resume`)).status).toBe(409);
    expect((await call('POST', `/api/tenants/slow/broadcasts/${created.id}/cancel`)).status).toBe(409);
  });

  it('pause → no send for 3 s; resume → it continues and completes; illegal transitions → 409', async () => {
    await createTenant('pausing');
    const jids = recipients(12, 40);
    const created = await createBroadcast('pausing', { name: 'Paced', text: 'Steady', recipients: jids, ratePerMinute: 600 });
    await waitFor(() => sendsTo(jids).length >= 5, { what: '5 sends' });
    const paused = await call('POST', `/api/tenants/pausing/broadcasts/${created.id}/pause`);
    expect(paused.status).toBe(200);
    expect(paused.body['state']).toBe('paused');
    expect((await call('POST', `/api/tenants/pausing/broadcasts/${created.id}/pause`)).status).toBe(409);
    // Sends claimed before the pause may still land within a moment.
    await sleep(300);
    const atPause = sendsTo(jids).length;
    await sleep(3000);
    expect(sendsTo(jids)).toHaveLength(atPause);
    expect(atPause).toBeLessThan(40);
    expect((await progressOf('pausing', created.id)).state).toBe('paused');

    const resumed = await call('POST', `/api/tenants/pausing/broadcasts/${created.id}/resume`);
    expect(resumed.status).toBe(200);
    const done = await waitForState('pausing', created.id, 'completed');
    expect(done).toMatchObject({ sent: 40, progress: 1 });
    expect(new Set(sendsTo(jids).map((s) => s.idempotencyKey)).size).toBe(40);
    expect(sendsTo(jids)).toHaveLength(40);
    expect((await call('POST', `/api/tenants/pausing/broadcasts/${created.id}/pause`)).status).toBe(409);
  });

  it('a gateway 400 fails its recipient with the reason; the bar still fills and the broadcast completes', async () => {
    await createTenant('refused');
    const jids = recipients(13, 5);
    gateway.failNext(1, 400, { error: 'bad_request', message: 'not on WhatsApp' });
    const created = await createBroadcast('refused', { name: 'Mixed', text: 'Maybe', recipients: jids, ratePerMinute: 100_000 });
    const done = await waitForState('refused', created.id, 'completed');
    expect(done).toMatchObject({ sent: 4, failed: 1, progress: 1 });
    const [failed] = await db.query<{ error: string }>(`select error from broadcast_recipients where broadcast_id = $1 and state = 'failed'`, [created.id]);
    expect(failed?.error).toContain('not on WhatsApp');
  });
});

describe('live progress (Server-Sent Events)', () => {
  it('streams the progress object on change and ends with the final one', async () => {
    await createTenant('live');
    await harness.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = harness.app.server.address() as AddressInfo;
    const jids = recipients(20, 60);
    const created = await createBroadcast('live', { name: 'Live', text: 'Watch me', recipients: jids, ratePerMinute: 1200 });
    const events = await readProgressEvents(`http://127.0.0.1:${port}`, `/api/tenants/live/broadcasts/${created.id}/events`);
    expect(events.length).toBeGreaterThan(1);
    const last = events[events.length - 1];
    expect(last).toMatchObject({ id: created.id, state: 'completed', sent: 60, progress: 1 });
    for (let i = 1; i < events.length; i += 1) expect(events[i]?.progress ?? 0).toBeGreaterThanOrEqual(events[i - 1]?.progress ?? 0);

    // A finished broadcast: one event, then the stream ends.
    const again = await readProgressEvents(`http://127.0.0.1:${port}`, `/api/tenants/live/broadcasts/${created.id}/events`);
    expect(again).toHaveLength(1);
  });
});
