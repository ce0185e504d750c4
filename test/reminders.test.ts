/**
 * Reminders (issue 4, item 3), end to end: the admin API → PostgreSQL → `reminders_tick` jobs on a real
 * Redis → an in-process worker → the outbox → a local fake gateway over real HTTP.
 *
 * The scheduler runtime is not part of this file: each test enqueues its ticks itself, exactly as the
 * scheduler would (`tick|reminders_tick|<tickAt>`). A tick dispatches every due reminder of every
 * tenant, so each test talks to chats of its own and counts sends by `to`. "Nothing was sent" is only
 * asserted after a positive signal that processing finished (a completed tick, a final outbox state).
 *
 * The first describe runs before any worker exists (reminders that fell due while nothing ran); the
 * others start the one in-process worker if it is not running yet.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { JobSnapshot } from '../src/queue/job-queues.js';
import { outboxIdempotencyKey, sendJobId } from '../src/queue/job-ids.js';
import { TEST_ADMIN_TOKEN } from './support/config.js';
import type { TestDatabase } from './support/database.js';
import type { FakeGateway, RecordedSend } from './support/fake-gateway.js';
import type { Harness } from './support/harness.js';
import { startTestStack, type TestStack } from './support/stack.js';
import { waitFor } from './support/wait.js';

const auth = { authorization: `Bearer ${TEST_ADMIN_TOKEN}` };
const MINUTE = 60_000;

let stack: TestStack;
let db: TestDatabase;
let harness: Harness;
let gateway: FakeGateway;
let isWorkerRunning = false;

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

interface ReminderView {
  id: string;
  to: string;
  text: string;
  dueAt: string;
  state: string;
  note: string | null;
  outboxId: string | null;
  sentAt: string | null;
  sendError: string | null;
  createdAt: string;
  updatedAt: string;
}

interface OutboxRow {
  id: string;
  tenant_id: string;
  conversation_id: string;
  to_jid: string;
  text: string;
  purpose: string;
  state: string;
  reminder_id: string | null;
}

async function call(method: 'GET' | 'POST' | 'DELETE', url: string, body?: unknown, headers: Record<string, string> = auth): Promise<Answer> {
  const response = await harness.app.inject({ method, url, headers, ...(body === undefined ? {} : { payload: body as object }) });
  return { status: response.statusCode, body: response.json<Record<string, unknown>>() };
}

async function createReminder(tenantId: string, body: { to: string; text: string; dueAt: string }): Promise<ReminderView> {
  const answer = await call('POST', `/api/tenants/${tenantId}/reminders`, body);
  expect(answer.status, JSON.stringify(answer.body)).toBe(201);
  return answer.body as unknown as ReminderView;
}

async function getReminder(tenantId: string, id: string): Promise<ReminderView> {
  const answer = await call('GET', `/api/tenants/${tenantId}/reminders/${id}`);
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return answer.body as unknown as ReminderView;
}

/** A reminder that was scheduled long ago and fell due while nothing ran (the API refuses such a dueAt). */
async function insertOverdueReminder(tenantId: string, to: string, text: string, minutesAgo: number): Promise<string> {
  const [row] = await db.query<{ id: string }>(
    `insert into reminders (tenant_id, to_jid, text, due_at, created_at) values ($1, $2, $3, now() - make_interval(mins => $4), now() - interval '1 day') returning id`,
    [tenantId, to, text, minutesAgo],
  );
  if (!row) throw new Error('no reminder inserted');
  return row.id;
}

function sendsTo(...jids: string[]): RecordedSend[] {
  const wanted = new Set(jids);
  return gateway.sends.filter((send) => wanted.has(send.body.to));
}

async function outboxOfReminder(reminderId: string): Promise<OutboxRow[]> {
  return db.query<OutboxRow>('select * from outbox where reminder_id = $1', [reminderId]);
}

let lastTickAt = 0;

/** Enqueues one tick as the scheduler does (its due time makes its id); returns the job id. */
async function enqueueTick(): Promise<string> {
  // Distinct ticks even when two are enqueued within the same millisecond.
  const tickAt = Math.max(Date.now(), lastTickAt + 1);
  lastTickAt = tickAt;
  const jobId = `tick|reminders_tick|${tickAt}`;
  await harness.container.queues.enqueue('reminders_tick', { schedule: 'reminders_tick', tickAt }, jobId);
  return jobId;
}

async function waitForTick(jobId: string): Promise<JobSnapshot> {
  return waitFor(
    async () => {
      const job = await harness.container.queues.getJob('default', jobId);
      if (job?.state === 'failed') throw new Error(`tick ${jobId} failed: ${job.failedReason ?? '?'}`);
      return job?.state === 'completed' ? job : undefined;
    },
    { what: `tick ${jobId} to complete` },
  );
}

async function runTick(): Promise<{ queued: number; missed: number; resent: number }> {
  const job = await waitForTick(await enqueueTick());
  return job.returnValue as { queued: number; missed: number; resent: number };
}

/** Waits until the reminder's send reached its final state (sent or failed), as the API reports it. */
async function waitForFinalState(tenantId: string, id: string): Promise<ReminderView> {
  return waitFor(
    async () => {
      const view = await getReminder(tenantId, id);
      return ['sent', 'failed', 'missed', 'cancelled'].includes(view.state) ? view : undefined;
    },
    { what: `reminder ${id} to be final` },
  );
}

async function ensureWorker(): Promise<void> {
  if (isWorkerRunning) return;
  await harness.startWorker();
  isWorkerRunning = true;
}

beforeAll(async () => {
  stack = await startTestStack({
    env: {
      GATEWAY_TIMEOUT_MS: '5000',
      JOB_BACKOFF_MS: '50',
      REMINDER_MAX_LATENESS_MINUTES: '60',
      // A sent reminder schedules a summary refresh; it stays far in the future here.
      SUMMARY_IDLE_MS: '600000',
    },
  });
  ({ db, harness, gateway } = stack);
  await harness.container.tenants.create({ id: 'acme', name: 'Acme', webhook_secret: null, system_prompt: null, timezone: 'Asia/Jerusalem' });
  await harness.container.tenants.create({ id: 'beta', name: 'Beta', webhook_secret: null, system_prompt: null, timezone: 'Europe/Berlin' });
  await harness.container.tenants.create({ id: 'gamma', name: 'Gamma', webhook_secret: null, system_prompt: null });
});

afterEach(() => stack.assertNoUnexpected());

afterAll(() => stack?.close());

describe('reminders that fell due while no worker ran', () => {
  it('are sent once when a worker starts, unless older than REMINDER_MAX_LATENESS_MINUTES: those are missed', async () => {
    expect(isWorkerRunning).toBe(false);
    const onTimeJid = '972500000001@s.whatsapp.net';
    const lateJid = '972500000002@s.whatsapp.net';
    // Due 30 s ago, within the hour of lateness allowed; the other fell due two hours ago.
    const onTime = await createReminder('acme', { to: onTimeJid, text: 'Your bike is ready', dueAt: new Date(Date.now() - 30_000).toISOString() });
    const lateId = await insertOverdueReminder('acme', lateJid, 'Your appointment is in one hour', 120);

    // The scheduler kept firing while no worker ran: three ticks wait in the queue.
    const ticks = [await enqueueTick(), await enqueueTick(), await enqueueTick()];
    for (const tick of ticks) expect((await harness.container.queues.getJob('default', tick))?.state).toBe('waiting');
    expect((await getReminder('acme', onTime.id)).state).toBe('pending');

    await ensureWorker();
    const results = await Promise.all(ticks.map(async (tick) => (await waitForTick(tick)).returnValue as { queued: number; missed: number }));
    expect(results.reduce((n, r) => n + r.queued, 0)).toBe(1);
    expect(results.reduce((n, r) => n + r.missed, 0)).toBe(1);

    const sent = await waitForFinalState('acme', onTime.id);
    expect(sent).toMatchObject({ state: 'sent', note: null, sendError: null });
    expect(sent.sentAt).not.toBeNull();
    const [send] = sendsTo(onTimeJid);
    expect(send?.body).toEqual({
      tenantId: 'acme',
      to: onTimeJid,
      type: 'text',
      text: 'Your bike is ready',
      idempotencyKey: outboxIdempotencyKey('acme', sent.outboxId ?? ''),
    });

    const missed = await getReminder('acme', lateId);
    expect(missed).toMatchObject({ state: 'missed', outboxId: null, sentAt: null });
    expect(missed.note).toMatch(/^Not sent: first picked up 1[12]\d minutes after it was due, over the 60-minute limit/);
    expect(await outboxOfReminder(lateId)).toEqual([]);

    // Another tick changes nothing: still one send, and the missed one stays missed.
    expect(await runTick()).toEqual({ queued: 0, missed: 0, resent: 0 });
    expect(sendsTo(onTimeJid)).toHaveLength(1);
    expect(sendsTo(lateJid)).toHaveLength(0);
  });
});

describe('POST /api/tenants/:id/reminders', () => {
  const to = '972501111111@s.whatsapp.net';

  it('stores a pending reminder and answers its view', async () => {
    const answer = await call('POST', '/api/tenants/acme/reminders', { to, text: 'Pick up your order', dueAt: '2030-12-01T09:00:00Z' });
    expect(answer.status).toBe(201);
    const view = answer.body as unknown as ReminderView;
    expect(view).toEqual({
      id: expect.stringMatching(/^[0-9]+$/),
      to,
      text: 'Pick up your order',
      dueAt: '2030-12-01T09:00:00.000Z',
      state: 'pending',
      note: null,
      outboxId: null,
      sentAt: null,
      sendError: null,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    expect(await getReminder('acme', view.id)).toEqual(view);
  });

  it('accepts the three kinds of chat: a phone number, a LID and a group', async () => {
    for (const jid of ['97250111111@s.whatsapp.net', '123456789012345@lid', '120363025246125486@g.us', '972501234567-1600000000@g.us']) {
      expect((await createReminder('gamma', { to: jid, text: 'Hi', dueAt: '2031-01-01T00:00:00Z' })).to).toBe(jid);
    }
  });

  it.each([
    ['an unknown field', { to, text: 'x', dueAt: '2030-12-01T09:00:00Z', priority: 'high' }],
    ['no to', { text: 'x', dueAt: '2030-12-01T09:00:00Z' }],
    ['no text', { to, dueAt: '2030-12-01T09:00:00Z' }],
    ['no dueAt', { to, text: 'x' }],
    ['a to without a server', { to: '972501111111', text: 'x', dueAt: '2030-12-01T09:00:00Z' }],
    ['a to on another server', { to: '972501111111@c.us', text: 'x', dueAt: '2030-12-01T09:00:00Z' }],
    ['a phone number too short', { to: '1234@s.whatsapp.net', text: 'x', dueAt: '2030-12-01T09:00:00Z' }],
    ['a to with letters', { to: 'dana@s.whatsapp.net', text: 'x', dueAt: '2030-12-01T09:00:00Z' }],
    ['the status broadcast', { to: 'status@broadcast', text: 'x', dueAt: '2030-12-01T09:00:00Z' }],
    ['an empty text', { to, text: '', dueAt: '2030-12-01T09:00:00Z' }],
    ['a blank text', { to, text: ' \n\t ', dueAt: '2030-12-01T09:00:00Z' }],
    ['a text over 4096 characters', { to, text: 'x'.repeat(4097), dueAt: '2030-12-01T09:00:00Z' }],
    ['a date without a time', { to, text: 'x', dueAt: '2030-12-01' }],
    ['words for a date', { to, text: 'x', dueAt: 'tomorrow at nine' }],
    ['a number for a date', { to, text: 'x', dueAt: 1924246800000 }],
    ['a day that does not exist', { to, text: 'x', dueAt: '2030-02-30T09:00:00' }],
    ['an hour that does not exist', { to, text: 'x', dueAt: '2030-12-01T25:00:00Z' }],
    ['a time long past', { to, text: 'x', dueAt: '2020-01-01T09:00:00Z' }],
  ])('refuses %s with 400', async (_what, body) => {
    const answer = await call('POST', '/api/tenants/acme/reminders', body);
    expect(answer.status, JSON.stringify(answer.body)).toBe(400);
    expect(answer.body['error']).toBe('bad_request');
  });

  it('accepts a text of exactly 4096 characters', async () => {
    expect((await createReminder('gamma', { to, text: 'y'.repeat(4096), dueAt: '2031-01-01T00:00:00Z' })).text).toHaveLength(4096);
  });

  it('says why a dueAt in the past is refused, and accepts one within the lateness limit', async () => {
    const tooOld = new Date(Date.now() - 61 * MINUTE).toISOString();
    const answer = await call('POST', '/api/tenants/gamma/reminders', { to, text: 'x', dueAt: tooOld });
    expect(answer.body['message']).toMatch(/more than 60 minutes in the past/);
    // Within the limit it is simply due: the next tick sends it (it is cancelled here, to keep it quiet).
    const recent = await createReminder('gamma', { to, text: 'x', dueAt: new Date(Date.now() - 5 * MINUTE).toISOString() });
    expect((await call('DELETE', `/api/tenants/gamma/reminders/${recent.id}`)).status).toBe(200);
  });

  it('is 404 for an unknown tenant and 401 without the admin token', async () => {
    expect((await call('POST', '/api/tenants/nobody/reminders', { to, text: 'x', dueAt: '2030-12-01T09:00:00Z' })).status).toBe(404);
    expect((await call('GET', '/api/tenants/nobody/reminders')).status).toBe(404);
    expect((await call('POST', '/api/tenants/acme/reminders', { to, text: 'x', dueAt: '2030-12-01T09:00:00Z' }, {})).status).toBe(401);
    expect((await call('GET', '/api/tenants/acme/reminders', undefined, {})).status).toBe(401);
  });
});

describe("dueAt without an offset is read in the tenant's time zone", () => {
  const to = '972502222222@s.whatsapp.net';
  const dueAtOf = async (tenantId: string, dueAt: string) => (await createReminder(tenantId, { to, text: `at ${dueAt}`, dueAt })).dueAt;

  it('keeps an explicit Z or offset whatever the tenant', async () => {
    expect(await dueAtOf('acme', '2030-12-01T09:00:00Z')).toBe('2030-12-01T09:00:00.000Z');
    expect(await dueAtOf('acme', '2030-12-01T09:00:00+05:30')).toBe('2030-12-01T03:30:00.000Z');
    expect(await dueAtOf('beta', '2030-12-01T09:00:00-0300')).toBe('2030-12-01T12:00:00.000Z');
  });

  it('reads a wall-clock time in the tenant zone (UTC by default)', async () => {
    expect(await dueAtOf('gamma', '2030-12-01T09:00:00')).toBe('2030-12-01T09:00:00.000Z');
    expect(await dueAtOf('acme', '2030-12-01T09:00')).toBe('2030-12-01T07:00:00.000Z');
    expect(await dueAtOf('beta', '2030-12-01T09:00:00.500')).toBe('2030-12-01T08:00:00.500Z');
  });

  it('across Asia/Jerusalem’s spring-forward (Friday 29 March 2030) and fall-back (27 October 2030)', async () => {
    expect(await dueAtOf('acme', '2030-03-28T09:00:00')).toBe('2030-03-28T07:00:00.000Z');
    expect(await dueAtOf('acme', '2030-03-29T09:00:00')).toBe('2030-03-29T06:00:00.000Z');
    expect(await dueAtOf('acme', '2030-10-26T09:00:00')).toBe('2030-10-26T06:00:00.000Z');
    expect(await dueAtOf('acme', '2030-10-27T09:00:00')).toBe('2030-10-27T07:00:00.000Z');
  });

  it('across Europe/Berlin’s transitions (31 March and 27 October 2030), gap and overlap included', async () => {
    expect(await dueAtOf('beta', '2030-03-30T09:00:00')).toBe('2030-03-30T08:00:00.000Z');
    expect(await dueAtOf('beta', '2030-04-01T09:00:00')).toBe('2030-04-01T07:00:00.000Z');
    // 02:30 does not exist that night (02:00 → 03:00): it is read as 03:30 summer time.
    expect(await dueAtOf('beta', '2030-03-31T02:30:00')).toBe('2030-03-31T01:30:00.000Z');
    // 02:30 happens twice (03:00 → 02:00): the first one, still on summer time.
    expect(await dueAtOf('beta', '2030-10-27T02:30:00')).toBe('2030-10-27T00:30:00.000Z');
    expect(await dueAtOf('beta', '2030-10-28T09:00:00')).toBe('2030-10-28T08:00:00.000Z');
  });
});

describe('GET and DELETE are scoped by tenant', () => {
  it("another tenant's reminder id is 404 for GET and DELETE, and stays pending", async () => {
    const betas = await createReminder('beta', { to: '972503333333@s.whatsapp.net', text: 'Beta only', dueAt: '2031-06-01T10:00:00' });
    expect((await call('GET', `/api/tenants/acme/reminders/${betas.id}`)).status).toBe(404);
    expect((await call('DELETE', `/api/tenants/acme/reminders/${betas.id}`)).status).toBe(404);
    expect((await getReminder('beta', betas.id)).state).toBe('pending');
    const acmeList = (await call('GET', '/api/tenants/acme/reminders?limit=100')).body['items'] as ReminderView[];
    expect(acmeList.map((r) => r.id)).not.toContain(betas.id);
  });

  it('an id that cannot exist is 404, one that is not a number 400', async () => {
    expect((await call('GET', '/api/tenants/acme/reminders/9223372036854775807')).status).toBe(404);
    expect((await call('GET', '/api/tenants/acme/reminders/9999999999999999999')).status).toBe(404);
    expect((await call('DELETE', '/api/tenants/acme/reminders/9999999999999999999')).status).toBe(404);
    expect((await call('GET', '/api/tenants/acme/reminders/12x')).status).toBe(400);
    expect((await call('GET', '/api/tenants/acme/reminders/12345678901234567890')).status).toBe(400);
  });

  it('refuses an unknown state filter or paging out of range', async () => {
    expect((await call('GET', '/api/tenants/acme/reminders?state=done')).status).toBe(400);
    expect((await call('GET', '/api/tenants/acme/reminders?limit=0')).status).toBe(400);
    expect((await call('GET', '/api/tenants/acme/reminders?limit=101')).status).toBe(400);
    expect((await call('GET', '/api/tenants/acme/reminders?offset=-1')).status).toBe(400);
  });
});

describe('reminders_tick', () => {
  it('sends a due reminder once, through one outbox row in its conversation', async () => {
    await ensureWorker();
    const jid = '972504444444@s.whatsapp.net';
    const reminder = await createReminder('acme', { to: jid, text: 'Your table is booked for 20:00', dueAt: new Date().toISOString() });
    const first = await runTick();
    expect(first.queued).toBe(1);
    const sent = await waitForFinalState('acme', reminder.id);
    expect(sent.state).toBe('sent');

    const [outbox, ...others] = await outboxOfReminder(reminder.id);
    expect(others).toEqual([]);
    expect(outbox).toMatchObject({ id: sent.outboxId, tenant_id: 'acme', to_jid: jid, purpose: 'reminder', state: 'sent' });
    const [conversation] = await db.query<{ id: string; chat_type: string }>(
      'select id, chat_type from conversations where tenant_id = $1 and remote_jid = $2',
      ['acme', jid],
    );
    expect(conversation).toEqual({ id: outbox?.conversation_id, chat_type: 'direct' });
    // The send is stored as our own outbound message, linked to the outbox (not a person typing).
    const messages = await db.query<{ from_me: boolean; text: string; outbox_id: string }>(
      'select from_me, text, outbox_id from messages where tenant_id = $1 and remote_jid = $2',
      ['acme', jid],
    );
    expect(messages).toEqual([{ from_me: true, text: 'Your table is booked for 20:00', outbox_id: outbox?.id }]);

    await waitFor(async () => (await harness.container.queues.getJob('high', sendJobId('acme', outbox?.id ?? '')))?.state === 'completed', {
      what: 'the send job to complete',
    });
    expect(await runTick()).toEqual({ queued: 0, missed: 0, resent: 0 });
    expect(sendsTo(jid)).toHaveLength(1);
    expect((await call('DELETE', `/api/tenants/acme/reminders/${reminder.id}`)).status).toBe(409);

    // Retention deleting the sent row takes the reminder with it: it never reads "queued" without one.
    await db.query('delete from outbox where id = $1', [outbox?.id]);
    expect((await call('GET', `/api/tenants/acme/reminders/${reminder.id}`)).status).toBe(404);
  });

  it('sends a group reminder into a group conversation', async () => {
    await ensureWorker();
    const jid = '120363000000000001@g.us';
    const reminder = await createReminder('beta', { to: jid, text: 'Team meeting in 15 minutes', dueAt: new Date().toISOString() });
    await runTick();
    expect((await waitForFinalState('beta', reminder.id)).state).toBe('sent');
    const [conversation] = await db.query<{ chat_type: string }>('select chat_type from conversations where tenant_id = $1 and remote_jid = $2', [
      'beta',
      jid,
    ]);
    expect(conversation?.chat_type).toBe('group');
    expect(sendsTo(jid)).toHaveLength(1);
  });

  it('two overlapping ticks and 100 due reminders: exactly 100 sends, one per reminder', async () => {
    await ensureWorker();
    // 100 reminders in 20 chats of two tenants: several reminders share a chat (and its conversation).
    const jids = Array.from({ length: 20 }, (_, i) => `97250555${String(i).padStart(4, '0')}@s.whatsapp.net`);
    const now = new Date().toISOString();
    const created = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        createReminder(i % 2 === 0 ? 'acme' : 'beta', { to: jids[i % jids.length] ?? '', text: `Reminder number ${i}`, dueAt: now }),
      ),
    );

    const [tickA, tickB] = await Promise.all([enqueueTick(), enqueueTick()]);
    const results = await Promise.all([waitForTick(tickA), waitForTick(tickB)]);
    // However the two split the work (SKIP LOCKED), together they queued each reminder once.
    expect(results.reduce((n, r) => n + (r.returnValue as { queued: number }).queued, 0)).toBe(100);

    await waitFor(() => sendsTo(...jids).length >= 100, { what: '100 sends' });
    const finals = await Promise.all(created.map((r, i) => waitForFinalState(i % 2 === 0 ? 'acme' : 'beta', r.id)));
    expect(finals.every((r) => r.state === 'sent')).toBe(true);

    // One more tick once everything is sent: nothing is left to send or re-send.
    expect(await runTick()).toEqual({ queued: 0, missed: 0, resent: 0 });
    const sends = sendsTo(...jids);
    expect(sends).toHaveLength(100);
    expect(new Set(sends.map((s) => s.idempotencyKey)).size).toBe(100);
    expect(new Set(sends.map((s) => s.body.text))).toEqual(new Set(created.map((r) => r.text)));
    const outboxIds = new Set(finals.map((r) => r.outboxId));
    expect(outboxIds.size).toBe(100);
    const [rows] = await db.query<{ n: string }>(`select count(*) as n from outbox where to_jid = any($1)`, [jids]);
    expect(Number(rows?.n)).toBe(100);
  });

  it('a tick that dies after committing its outbox rows: the next tick enqueues their sends, once each', async () => {
    await ensureWorker();
    const jids = Array.from({ length: 40 }, (_, i) => `97250666${String(i).padStart(4, '0')}@s.whatsapp.net`);
    const now = new Date().toISOString();
    const created = await Promise.all(jids.map((to, i) => createReminder('gamma', { to, text: `Crash-window reminder ${i}`, dueAt: now })));

    // What a tick does before it enqueues anything, by four "ticks" racing in small batches and then
    // dying: every reminder is taken by exactly one of them.
    const dispatch = harness.container.reminders;
    const taken: string[] = [];
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (;;) {
          const batch = await dispatch.dispatchDue(new Date(), 60, 3);
          taken.push(...batch.sends.map((s) => s.reminderId));
          if (batch.claimed < 3) return;
        }
      }),
    );
    expect(taken.sort()).toEqual(created.map((r) => r.id).sort());
    expect(new Set(taken).size).toBe(40);
    for (const r of created) expect((await getReminder('gamma', r.id)).state).toBe('queued');
    expect(sendsTo(...jids)).toHaveLength(0);

    const tick = await runTick();
    expect(tick).toMatchObject({ queued: 0, resent: 40 });
    await waitFor(() => sendsTo(...jids).length >= 40, { what: '40 sends' });
    const finals = await Promise.all(created.map((r) => waitForFinalState('gamma', r.id)));
    expect(finals.every((r) => r.state === 'sent')).toBe(true);
    expect(await runTick()).toEqual({ queued: 0, missed: 0, resent: 0 });
    expect(sendsTo(...jids)).toHaveLength(40);
  });

  it('a reminder cancelled while pending is never sent; cancelling twice is 409', async () => {
    await ensureWorker();
    const jid = '972507777777@s.whatsapp.net';
    const reminder = await createReminder('acme', { to: jid, text: 'Never mind', dueAt: new Date().toISOString() });
    const cancelled = await call('DELETE', `/api/tenants/acme/reminders/${reminder.id}`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ id: reminder.id, state: 'cancelled', outboxId: null });

    expect((await runTick()).queued).toBe(0);
    expect(await outboxOfReminder(reminder.id)).toEqual([]);
    expect(sendsTo(jid)).toHaveLength(0);
    expect((await getReminder('acme', reminder.id)).state).toBe('cancelled');
    const again = await call('DELETE', `/api/tenants/acme/reminders/${reminder.id}`);
    expect(again.status).toBe(409);
    expect(again.body['message']).toMatch(/is cancelled: only a pending reminder can be cancelled/);
  });

  it('a send the gateway refuses reads as failed, with its reason', async () => {
    await ensureWorker();
    const jid = '972508888888@s.whatsapp.net';
    const reminder = await createReminder('acme', { to: jid, text: 'This one bounces', dueAt: new Date().toISOString() });
    gateway.failNext(1, 400, { error: 'bad_request', message: 'Not a WhatsApp user' });
    await runTick();
    const failed = await waitForFinalState('acme', reminder.id);
    expect(failed).toMatchObject({ state: 'failed', sentAt: null });
    expect(failed.sendError).toMatch(/Not a WhatsApp user|400/);
    expect(sendsTo(jid)).toHaveLength(1);
    expect((await runTick()).resent).toBe(0);
  });
});

describe('GET /api/tenants/:id/reminders', () => {
  it('lists newest due first, pages, and filters by the state a caller sees', async () => {
    await ensureWorker();
    // A tenant of its own, so the counts are this test's: one reminder in each state.
    await harness.container.tenants.create({ id: 'delta', name: 'Delta', webhook_secret: null, system_prompt: null });
    const now = Date.now();
    const pending = await createReminder('delta', { to: '972509000001@s.whatsapp.net', text: 'later', dueAt: '2032-01-01T09:00:00Z' });
    const cancelled = await createReminder('delta', { to: '972509000002@s.whatsapp.net', text: 'cancelled', dueAt: '2032-01-02T09:00:00Z' });
    expect((await call('DELETE', `/api/tenants/delta/reminders/${cancelled.id}`)).status).toBe(200);
    const missedId = await insertOverdueReminder('delta', '972509000003@s.whatsapp.net', 'missed', 180);
    gateway.failNext(1, 400);
    const failed = await createReminder('delta', { to: '972509000004@s.whatsapp.net', text: 'failed', dueAt: new Date(now - 2 * MINUTE).toISOString() });
    await runTick();
    expect((await waitForFinalState('delta', failed.id)).state).toBe('failed');
    expect((await getReminder('delta', missedId)).state).toBe('missed');
    const sent = await createReminder('delta', { to: '972509000005@s.whatsapp.net', text: 'sent', dueAt: new Date(now - MINUTE).toISOString() });
    await runTick();
    expect((await waitForFinalState('delta', sent.id)).state).toBe('sent');

    const all = await call('GET', '/api/tenants/delta/reminders');
    expect(all.body).toMatchObject({ total: 5, limit: 20, offset: 0 });
    expect((all.body['items'] as ReminderView[]).map((r) => r.text)).toEqual(['cancelled', 'later', 'sent', 'failed', 'missed']);

    const page = await call('GET', '/api/tenants/delta/reminders?limit=2&offset=2');
    expect(page.body).toMatchObject({ total: 5, limit: 2, offset: 2 });
    expect((page.body['items'] as ReminderView[]).map((r) => r.text)).toEqual(['sent', 'failed']);

    for (const [state, text] of [
      ['pending', 'later'],
      ['cancelled', 'cancelled'],
      ['missed', 'missed'],
      ['failed', 'failed'],
      ['sent', 'sent'],
    ] as const) {
      const filtered = await call('GET', `/api/tenants/delta/reminders?state=${state}`);
      expect(filtered.body['total'], state).toBe(1);
      expect((filtered.body['items'] as ReminderView[]).map((r) => [r.state, r.text])).toEqual([[state, text]]);
    }
    expect((await call('GET', '/api/tenants/delta/reminders?state=queued')).body).toMatchObject({ items: [], total: 0 });
    expect(pending.state).toBe('pending');
  });
});
