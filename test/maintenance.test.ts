/**
 * The periodic housekeeping jobs, run the way the scheduler runs them (one tick job each) against a
 * worker in-process: retention deletes what is past RETENTION_DAYS and nothing that is still owed or
 * recent, receipts parked before their message are applied once it is stored, and the session sweep
 * summarises quiet conversations that slipped through. Rows are written with SQL so each test sets up
 * exactly the state it describes (old timestamps, a message stored behind the receipts' back).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobName } from '../src/queue/job-catalog.js';
import type { JobSnapshot } from '../src/queue/job-queues.js';
import { summaryJobId } from '../src/queue/job-ids.js';
import type { QueueName } from '../src/queue/queue-names.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { startHarness, type Harness } from './support/harness.js';
import { SHARED_REDIS_URL, deletePrefix, uniquePrefix } from './support/redis.js';
import { waitFor } from './support/wait.js';

const DAY_MS = 24 * 3600_000;
const RETENTION_DAYS = 30;
const DEDUPE_WINDOW_SECONDS = 2;

let db: TestDatabase;
let harness: Harness;
let prefix: string;
let jidCounter = 0;

beforeAll(async () => {
  db = await createTestDatabase();
  prefix = uniquePrefix();
  harness = await startHarness({
    databaseUrl: db.url,
    redisUrl: SHARED_REDIS_URL,
    prefix,
    // No OPENAI_API_KEY: the offline template provider writes the summaries.
    env: { RETENTION_DAYS: String(RETENTION_DAYS), SUMMARY_IDLE_MS: '60000', DEDUPE_WINDOW_SECONDS: String(DEDUPE_WINDOW_SECONDS) },
  });
  await harness.container.tenants.create({ id: 'acme', name: 'Acme', webhook_secret: null, system_prompt: null });
  await harness.startWorker();
});

afterAll(async () => {
  await harness.close();
  await deletePrefix(prefix);
  await db.drop();
});

type TickJob = Extract<JobName, 'sessions_sweep' | 'receipts_reconcile' | 'retention_cleanup'>;
const TICK_QUEUES: Record<TickJob, QueueName> = { sessions_sweep: 'low', receipts_reconcile: 'receipts_sync', retention_cleanup: 'maintenance' };

/** Enqueues one tick the way the scheduler does, and waits for the worker to finish it. */
async function runTick(name: TickJob, tickAt = Date.now()): Promise<JobSnapshot> {
  const jobId = `tick|${name}|${tickAt}`;
  await harness.container.queues.enqueue(name, { schedule: name, tickAt }, jobId);
  return waitForJob(TICK_QUEUES[name], jobId, 'completed');
}

async function waitForJob(queue: QueueName, jobId: string, state: 'completed' | 'failed'): Promise<JobSnapshot> {
  return waitFor(
    async () => {
      const job = await harness.container.queues.getJob(queue, jobId);
      if (job?.state === 'failed' && state !== 'failed') throw new Error(`${jobId} failed: ${job.failedReason ?? ''}`);
      return job?.state === state ? job : undefined;
    },
    { what: `${jobId} ${state}` },
  );
}

const ago = (ms: number) => new Date(Date.now() - ms);
const nextJid = () => `97250${String(++jidCounter).padStart(7, '0')}@s.whatsapp.net`;

async function insertConversation(options: {
  remoteJid?: string;
  chatType?: string;
  lastMessageAt: Date;
  summaryUpdatedAt?: Date;
  createdAt?: Date;
}): Promise<{ id: string; remoteJid: string }> {
  const remoteJid = options.remoteJid ?? nextJid();
  const [row] = await db.query<{ id: string }>(
    `insert into conversations (tenant_id, remote_jid, chat_type, last_message_at, summary, summary_updated_at, created_at)
     values ('acme', $1, $2, $3, $4, $5, $6) returning id`,
    [remoteJid, options.chatType ?? 'direct', options.lastMessageAt, options.summaryUpdatedAt ? 'An earlier summary' : null, options.summaryUpdatedAt ?? null, options.createdAt ?? options.lastMessageAt],
  );
  if (!row) throw new Error('conversation not inserted');
  return { id: row.id, remoteJid };
}

let waCounter = 0;
async function insertMessage(conversation: { id: string; remoteJid: string }, options: { at: Date; text?: string; waMessageId?: string }): Promise<string> {
  const [row] = await db.query<{ id: string }>(
    `insert into messages (tenant_id, conversation_id, remote_jid, wa_message_id, from_me, sender_jid, kind, text, sent_at, created_at)
     values ('acme', $1, $2, $3, false, $2, 'text', $4, $5, $5) returning id`,
    [conversation.id, conversation.remoteJid, options.waMessageId ?? `MAINT-${++waCounter}`, options.text ?? 'Hello', options.at],
  );
  if (!row) throw new Error('message not inserted');
  return row.id;
}

async function insertOutbox(conversation: { id: string; remoteJid: string }, state: 'pending' | 'sent' | 'failed', createdAt: Date): Promise<string> {
  const [row] = await db.query<{ id: string }>(
    `insert into outbox (tenant_id, conversation_id, to_jid, text, purpose, state, created_at)
     values ('acme', $1, $2, 'A reply', 'reply', $3, $4) returning id`,
    [conversation.id, conversation.remoteJid, state, createdAt],
  );
  if (!row) throw new Error('outbox row not inserted');
  return row.id;
}

async function insertPendingReceipt(waMessageId: string, createdAt: Date): Promise<string> {
  const [row] = await db.query<{ id: string }>(
    `insert into pending_receipts (tenant_id, remote_jid, wa_message_id, from_me, status, created_at)
     values ('acme', '972509999999@s.whatsapp.net', $1, true, 3, $2) returning id`,
    [waMessageId, createdAt],
  );
  if (!row) throw new Error('pending receipt not inserted');
  return row.id;
}

async function ids(table: string, column: string, values: string[]): Promise<string[]> {
  const rows = await db.query<{ id: string }>(`select ${column}::text as id from ${table} where ${column} = any($1::bigint[]) order by 1`, [values]);
  return rows.map((r) => r.id);
}

describe('receipts_reconcile', () => {
  it('applies a receipt parked before its message, once the message is stored without applying it', async () => {
    const identity = { tenantId: 'acme', remoteJid: '972501112222@s.whatsapp.net', waMessageId: 'RECON-1', fromMe: true };
    const deliveredAt = new Date('2025-11-30T10:00:00.000Z');
    expect(await harness.container.receipts.apply(identity, { status: 3, at: deliveredAt, userJid: null })).toBe('pending');
    // Stored behind the receipt's back: the message's own store would have applied it.
    const conversation = await insertConversation({ remoteJid: identity.remoteJid, lastMessageAt: ago(0) });
    const [message] = await db.query<{ id: string }>(
      `insert into messages (tenant_id, conversation_id, remote_jid, wa_message_id, from_me, sender_jid, kind, text, sent_at, status)
       values ('acme', $1, $2, 'RECON-1', true, $2, 'text', 'Your order shipped', now(), 1) returning id`,
      [conversation.id, identity.remoteJid],
    );

    const job = await runTick('receipts_reconcile');

    expect(job.returnValue).toEqual({ messages: 1, receipts: 1 });
    const [row] = await db.query<{ status: number; delivered_at: Date | null }>('select status, delivered_at from messages where id = $1', [message?.id]);
    expect(row).toEqual({ status: 3, delivered_at: deliveredAt });
    expect(await db.query("select 1 from pending_receipts where wa_message_id = 'RECON-1'")).toHaveLength(0);

    // Nothing left to do: the next tick applies nothing.
    expect((await runTick('receipts_reconcile', Date.now() + 1)).returnValue).toEqual({ messages: 0, receipts: 0 });
  });
});

describe('sessions_sweep', () => {
  it('enqueues a summary for a quiet, unsummarised chat only, under the id its own summary job has', async () => {
    const quiet = await insertConversation({ lastMessageAt: ago(10 * 60_000) });
    await insertMessage(quiet, { at: ago(11 * 60_000), text: 'Do you repair e-bikes?' });
    const quietNewest = await insertMessage(quiet, { at: ago(10 * 60_000), text: 'Mine is a blue one' });

    const fresh = await insertConversation({ lastMessageAt: ago(1000) });
    await insertMessage(fresh, { at: ago(2000) });
    const freshNewest = await insertMessage(fresh, { at: ago(1000) });

    const summarised = await insertConversation({ lastMessageAt: ago(10 * 60_000), summaryUpdatedAt: ago(5 * 60_000) });
    await insertMessage(summarised, { at: ago(11 * 60_000) });
    const summarisedNewest = await insertMessage(summarised, { at: ago(10 * 60_000) });

    // One message is too short to summarise; groups are not summarised at all.
    const single = await insertConversation({ lastMessageAt: ago(10 * 60_000) });
    const singleNewest = await insertMessage(single, { at: ago(10 * 60_000) });
    const group = await insertConversation({ remoteJid: '120363000000000001@g.us', chatType: 'group', lastMessageAt: ago(10 * 60_000) });
    await insertMessage(group, { at: ago(11 * 60_000) });
    const groupNewest = await insertMessage(group, { at: ago(10 * 60_000) });

    const sweep = await runTick('sessions_sweep');

    expect(sweep.returnValue).toEqual({ conversations: 1, enqueued: 1, alreadyQueued: 0 });
    const summary = await waitForJob('low', summaryJobId('acme', quietNewest), 'completed');
    expect(summary.returnValue).toEqual({ outcome: 'summarised' });
    const [row] = await db.query<{ summary: string | null }>('select summary from conversations where id = $1', [quiet.id]);
    expect(row?.summary).toBe('Customer: Do you repair e-bikes?\nCustomer: Mine is a blue one');
    for (const newest of [freshNewest, summarisedNewest, singleNewest, groupNewest]) {
      expect(await harness.container.queues.getJob('low', summaryJobId('acme', newest))).toBeNull();
    }

    // Summarised now: the next sweep leaves it alone.
    expect((await runTick('sessions_sweep', Date.now() + 1)).returnValue).toEqual({ conversations: 0, enqueued: 0, alreadyQueued: 0 });
  });
});

describe('retention_cleanup', () => {
  it('deletes rows past RETENTION_DAYS and stale pending receipts; keeps recent rows and unsent outbox rows', async () => {
    const old = ago((RETENTION_DAYS + 1) * DAY_MS);

    // An old conversation: its messages (and their group receipts) go, then the emptied conversation.
    const gone = await insertConversation({ lastMessageAt: old });
    const goneMessages = [await insertMessage(gone, { at: old }), await insertMessage(gone, { at: old })];
    await db.query(`insert into message_receipts (message_id, user_jid, status) values ($1, '972501230000@s.whatsapp.net', 4)`, [goneMessages[0]]);
    const goneSent = await insertOutbox(gone, 'sent', old);

    // A live conversation: only its old message and old finished sends go.
    const live = await insertConversation({ lastMessageAt: ago(0), createdAt: old });
    const liveOld = await insertMessage(live, { at: old });
    const liveNew = await insertMessage(live, { at: ago(0) });
    const liveOldFailed = await insertOutbox(live, 'failed', old);
    const liveOldPending = await insertOutbox(live, 'pending', old);
    const liveNewSent = await insertOutbox(live, 'sent', ago(0));

    // An old conversation with no messages but a send still owed: kept (deleting it would cascade the send away).
    const owed = await insertConversation({ lastMessageAt: old });
    const owedPending = await insertOutbox(owed, 'pending', old);

    const receiptPastRetention = await insertPendingReceipt('GONE-1', old);
    const receiptStale = await insertPendingReceipt('STALE-1', ago(8 * DAY_MS));
    const receiptRecent = await insertPendingReceipt('RECENT-1', ago(2 * DAY_MS));

    const job = await runTick('retention_cleanup');

    expect(job.returnValue).toMatchObject({ messages: 3, outbox: 2, pendingReceipts: 2, conversations: 1 });
    expect(await ids('messages', 'id', [...goneMessages, liveOld, liveNew])).toEqual([liveNew]);
    expect(await ids('message_receipts', 'message_id', goneMessages)).toEqual([]);
    expect(await ids('conversations', 'id', [gone.id, live.id, owed.id])).toEqual([live.id, owed.id].sort());
    expect(await ids('outbox', 'id', [goneSent, liveOldFailed, liveOldPending, liveNewSent, owedPending])).toEqual(
      [liveOldPending, liveNewSent, owedPending].sort(),
    );
    expect(await ids('pending_receipts', 'id', [receiptPastRetention, receiptStale, receiptRecent])).toEqual([receiptRecent]);
  });

  it('loops in batches until everything past the cutoff is gone', async () => {
    const old = ago((RETENTION_DAYS + 1) * DAY_MS);
    const conversation = await insertConversation({ lastMessageAt: old });
    await db.query(
      `insert into messages (tenant_id, conversation_id, remote_jid, wa_message_id, from_me, sender_jid, kind, sent_at, created_at)
       select 'acme', $1, $2, 'BULK-' || n, false, $2, 'text', $3, $3 from generate_series(1, 2500) as n`,
      [conversation.id, conversation.remoteJid, old],
    );

    const job = await runTick('retention_cleanup');

    expect(job.returnValue).toMatchObject({ messages: 2500, conversations: 1 });
    expect(await db.query("select 1 from messages where wa_message_id like 'BULK-%'")).toHaveLength(0);
  });

  it('removes job records that finished before the retention horizon, completed and failed, but none inside the dedupe window', async () => {
    const queues = harness.container.queues;
    const oldDone = 'tick|receipts_reconcile|old-done';
    await queues.enqueue('receipts_reconcile', { schedule: 'receipts_reconcile', tickAt: 1 }, oldDone);
    // A payload the catalogue rejects fails at once, for good: a failed record to clean.
    const oldFailed = 'tick|receipts_reconcile|old-failed';
    await queues.enqueue('receipts_reconcile', { schedule: 'receipts_reconcile', tickAt: -1 }, oldFailed);
    const done = await waitForJob('receipts_sync', oldDone, 'completed');
    const failed = await waitForJob('receipts_sync', oldFailed, 'failed');
    // Job ids are dedupe markers, kept for DEDUPE_WINDOW_SECONDS whatever the retention: wait until
    // these two are past it (the test's window is 2 s) so the clean may take them.
    const finishedAt = Math.max(done.finishedOn ?? Infinity, failed.finishedOn ?? Infinity);
    await waitFor(() => Date.now() > finishedAt + DEDUPE_WINDOW_SECONDS * 1000 + 100, { what: 'the dedupe window to pass' });
    const recentDone = 'tick|receipts_reconcile|recent-done';
    await queues.enqueue('receipts_reconcile', { schedule: 'receipts_reconcile', tickAt: 2 }, recentDone);
    await waitForJob('receipts_sync', recentDone, 'completed');

    // A tick far enough in the future that every record finished so far is past the horizon.
    const job = await runTick('retention_cleanup', Date.now() + (RETENTION_DAYS + 1) * DAY_MS);

    const { jobRecords } = job.returnValue as { jobRecords: { completed: number; failed: number } };
    expect(jobRecords.completed).toBeGreaterThanOrEqual(1);
    expect(jobRecords.failed).toBe(1);
    expect(await queues.getJob('receipts_sync', oldDone)).toBeNull();
    expect(await queues.getJob('receipts_sync', oldFailed)).toBeNull();
    expect((await queues.getJob('receipts_sync', recentDone))?.state).toBe('completed');
  });
});
