/**
 * Issue 3's crash acceptance: each customer message is answered exactly once whatever dies in between.
 * Real worker processes (`node --import tsx src/main.ts`) are SIGKILLed during the AI call and after
 * the gateway accepted the send; PostgreSQL is taken away for real with a TCP proxy in front of it.
 * The fakes (gateway, OpenAI-compatible server) are real HTTP servers that record what they receive.
 *
 * The in-process harness only posts webhooks and reads queue state: it runs no worker.
 */
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { QueueName } from '../src/queue/queue-names.js';
import { messageJobId, outboxIdempotencyKey, replyJobId, sendJobId } from '../src/queue/job-ids.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { FakeGateway, type RecordedSend } from './support/fake-gateway.js';
import { FakeOpenAI } from './support/fake-openai.js';
import { nowSeconds, textMessageBody } from './support/fixtures.js';
import { startHarness, type Harness } from './support/harness.js';
import { startRole, type SwitchboardProcess } from './support/processes.js';
import { SHARED_REDIS_URL, deletePrefix, uniquePrefix } from './support/redis.js';
import { TcpProxy } from './support/tcp-proxy.js';
import { waitFor } from './support/wait.js';

const TENANT = 'acme';
const SYSTEM_PROMPT = 'You are the assistant of Acme Dental. Answer in one short sentence.';
const GATEWAY_SECRET = 'test-gateway-secret-0123456789';
const STALLED_LOG = 'Job stalled (its worker stopped); it will run again';
/** Stall recovery takes WORKER_LOCK_MS plus up to two stalled checks, after a process start. */
const RECOVERY_TIMEOUT_MS = 20_000;

let db: TestDatabase;
let harness: Harness;
let prefix: string;
let proxy: TcpProxy;
let gateway: FakeGateway;
let openai: FakeOpenAI;
const processes: SwitchboardProcess[] = [];
/** The assertions' own connection, straight to PostgreSQL (never through the proxy). */
let sql: pg.Client;

async function query<R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
  return (await sql.query<R>(text, values)).rows;
}

/** The database URL a worker uses to reach PostgreSQL through the proxy the test can cut. */
function proxiedDatabaseUrl(): string {
  return db.url.replace(':5432/', `:${proxy.port}/`);
}

async function spawnWorker(env: Record<string, string> = {}): Promise<SwitchboardProcess> {
  const { proc } = await startRole('worker', {
    REDIS_URL: SHARED_REDIS_URL,
    QUEUE_PREFIX: prefix,
    DATABASE_URL: db.url,
    GATEWAY_URL: gateway.url,
    GATEWAY_SECRET,
    OPENAI_BASE_URL: openai.baseURL,
    OPENAI_API_KEY: 'test-key',
    REPLY_DEBOUNCE_MS: '200',
    WORKER_LOCK_MS: '2000',
    WORKER_STALLED_INTERVAL_MS: '1000',
    JOB_BACKOFF_MS: '50',
    // The PostgreSQL outage must outlast one failed attempt without exhausting them: 8 attempts at
    // 50 ms doubling leave seconds of retries after the first failure (3 would fail within ~150 ms).
    JOB_ATTEMPTS: '8',
    AI_TIMEOUT_MS: '20000',
    GATEWAY_TIMEOUT_MS: '20000',
    ...env,
  });
  processes.push(proc);
  return proc;
}

/**
 * Posts one recent (answerable) text message as the gateway does (a 503, e.g. an enqueue timeout on a
 * loaded machine, is retried; the retry may then find the job already enqueued); returns its job id.
 */
async function postMessage(remoteJid: string, waMessageId: string, text: string): Promise<string> {
  const answer = await harness.postAsGateway(textMessageBody({ tenantId: TENANT, id: waMessageId, remoteJid, text, timestamp: nowSeconds() }));
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  expect(Number(answer.body['enqueued']) + Number(answer.body['duplicates'])).toBe(1);
  return messageJobId(TENANT, { remoteJid, id: waMessageId, fromMe: false });
}

interface InboundRow {
  id: string;
  conversation_id: string;
  reply_state: string | null;
  outbox_id: string | null;
}

async function inboundRows(remoteJid: string): Promise<InboundRow[]> {
  return query<InboundRow>(
    'select id, conversation_id, reply_state, outbox_id from messages where tenant_id = $1 and remote_jid = $2 and from_me = false order by id',
    [TENANT, remoteJid],
  );
}

/** The stored inbound message (waits for the webhook job to store it). */
async function waitForInbound(remoteJid: string): Promise<InboundRow> {
  return waitFor(async () => (await inboundRows(remoteJid))[0], { what: `the inbound message of ${remoteJid} stored` });
}

interface OutboxRow {
  id: string;
  conversation_id: string;
  to_jid: string;
  text: string;
  state: string;
  wa_message_id: string | null;
  last_error: string | null;
  sent_at: Date | null;
}

async function outboxRows(conversationId: string): Promise<OutboxRow[]> {
  return query<OutboxRow>(
    'select id, conversation_id, to_jid, text, state, wa_message_id, last_error, sent_at from outbox where conversation_id = $1 order by id',
    [conversationId],
  );
}

async function waitForOutbox(conversationId: string): Promise<OutboxRow> {
  return waitFor(async () => (await outboxRows(conversationId))[0], { what: 'the outbox row committed' });
}

async function waitForSentOutbox(conversationId: string): Promise<OutboxRow> {
  return waitFor(
    async () => {
      const [row] = await outboxRows(conversationId);
      return row?.state === 'sent' ? row : undefined;
    },
    { timeoutMs: RECOVERY_TIMEOUT_MS, what: 'the outbox row sent' },
  );
}

/** Waits until the job has finished, either way, and asserts it completed (a failure shows its reason). */
async function expectCompleted(queue: QueueName, jobId: string): Promise<void> {
  const job = await waitFor(
    async () => {
      const snapshot = await harness.container.queues.getJob(queue, jobId);
      return snapshot?.state === 'completed' || snapshot?.state === 'failed' ? snapshot : undefined;
    },
    { timeoutMs: RECOVERY_TIMEOUT_MS, what: `job ${jobId} to finish` },
  );
  expect({ jobId, state: job.state }, job.failedReason ?? '').toEqual({ jobId, state: 'completed' });
}

/** BullMQ's own counters, which the `JobSnapshot` does not carry. */
async function counters(queue: QueueName, jobId: string): Promise<{ attemptsMade: number; attemptsStarted: number; stalledCounter: number }> {
  const job = await harness.container.queues.queue(queue).getJob(jobId);
  if (!job) throw new Error(`job ${jobId} not found`);
  return { attemptsMade: job.attemptsMade, attemptsStarted: job.attemptsStarted, stalledCounter: job.stalledCounter };
}

/** Why a worker process is gone: its fatal log line and its stderr. */
function exitReason(proc: SwitchboardProcess): string {
  const fatal = proc.lines.filter((l) => Number(l['level']) >= 50).map((l) => JSON.stringify(l));
  return [...fatal, proc.stderr.join('')].join('\n');
}

/** The worker survived whatever the test did to its database, and never lost track of a promise. */
function expectHealthy(proc: SwitchboardProcess): void {
  expect(proc.isRunning, `the worker process exited:\n${exitReason(proc)}`).toBe(true);
  expect(proc.hasLog('Unhandled promise rejection'), exitReason(proc)).toBe(false);
}

/**
 * Waits until the job has failed at least one attempt and is waiting to retry (not failed for good),
 * failing at once, with the reason, if the worker process died instead.
 */
async function waitForFailedAttempt(worker: SwitchboardProcess, queue: QueueName, jobId: string): Promise<void> {
  await waitFor(
    async () => {
      if (!worker.isRunning) return true;
      const job = await harness.container.queues.getJob(queue, jobId);
      return job !== null && job.attemptsMade >= 1 && job.state !== 'failed' && job.state !== 'completed';
    },
    { what: `job ${jobId} to fail an attempt and wait for its retry` },
  );
  expectHealthy(worker);
}

/**
 * The end state of "answered exactly once": one inbound row, answered by one outbox row, `sent` with
 * the messageId the gateway assigned to the row's idempotency key; one outbound message row; every
 * send the gateway saw carries that one key; the message's jobs completed and nothing failed.
 */
async function expectAnsweredOnce(options: { remoteJid: string; webhookJobId: string; expectedText: string }): Promise<{ outbox: OutboxRow; sends: RecordedSend[] }> {
  const { remoteJid } = options;
  const inbound = await waitForInbound(remoteJid);
  const sent = await waitForSentOutbox(inbound.conversation_id);
  const replyJob = replyJobId(TENANT, inbound.id);
  const sendJob = sendJobId(TENANT, sent.id);
  await expectCompleted('default', options.webhookJobId);
  await expectCompleted('default', replyJob);
  await expectCompleted('high', sendJob);

  const inboundAfter = await inboundRows(remoteJid);
  expect(inboundAfter).toEqual([{ ...inbound, reply_state: 'answered', outbox_id: sent.id }]);

  const outbox = await outboxRows(inbound.conversation_id);
  expect(outbox).toHaveLength(1);
  const [row] = outbox;
  if (!row) throw new Error('no outbox row');
  expect(row).toMatchObject({ id: sent.id, to_jid: remoteJid, text: options.expectedText, state: 'sent', last_error: null });
  expect(row.wa_message_id).toMatch(/^3EB0[0-9A-F]{16}$/);
  expect(row.sent_at).toBeInstanceOf(Date);

  const key = outboxIdempotencyKey(TENANT, row.id);
  expect(gateway.distinctIdempotencyKeys()).toEqual([key]);
  const sends = gateway.sends.filter((s) => s.body.to === remoteJid);
  expect(sends).toEqual(gateway.sends);
  for (const send of sends) {
    expect(send.body).toEqual({ tenantId: TENANT, to: remoteJid, type: 'text', text: options.expectedText, idempotencyKey: key });
    expect(send.status).toBe(200);
    // The gateway honours the key: every request with it got the same messageId, the one recorded.
    expect(send.messageId).toBe(row.wa_message_id);
  }

  const outbound = await query<{ wa_message_id: string; outbox_id: string | null; text: string | null }>(
    'select wa_message_id, outbox_id, text from messages where conversation_id = $1 and from_me = true',
    [inbound.conversation_id],
  );
  expect(outbound).toEqual([{ wa_message_id: row.wa_message_id, outbox_id: row.id, text: options.expectedText }]);

  for (const queue of ['default', 'high'] as const) {
    expect((await harness.container.queues.getJobCounts(queue))['failed'], `failed jobs on ${queue}`).toBe(0);
  }
  gateway.assertNoUnexpected();
  openai.assertNoUnexpected();
  return { outbox: row, sends };
}

/** Each AI answer is numbered, so the text that went out tells which request it came from. */
function numberAnswers(): void {
  let n = 0;
  openai.answerWith((body) => {
    n += 1;
    const lastUser = [...body.messages].reverse().find((m) => m.role === 'user');
    return `Answer ${n} to: ${lastUser?.content ?? ''}`;
  });
}

beforeAll(async () => {
  db = await createTestDatabase();
  prefix = uniquePrefix();
  proxy = await TcpProxy.start(5432);
  // JOB_ATTEMPTS: the webhook jobs are enqueued by the harness, with its settings (see spawnWorker).
  harness = await startHarness({ databaseUrl: db.url, redisUrl: SHARED_REDIS_URL, prefix, env: { JOB_ATTEMPTS: '8', JOB_BACKOFF_MS: '50' } });
  await harness.container.tenants.create({ id: TENANT, name: 'Acme Dental', webhook_secret: null, system_prompt: SYSTEM_PROMPT });
  sql = new pg.Client({ connectionString: db.url });
  await sql.connect();
  // The webhook fails fast (503) while the producer connection is still connecting.
  await waitFor(async () => (await harness.container.queues.health()).isReady, { what: 'the producer Redis connection' });
});

beforeEach(async () => {
  gateway = await FakeGateway.start({ secret: GATEWAY_SECRET });
  openai = await FakeOpenAI.start();
  numberAnswers();
});

afterEach(async () => {
  await Promise.all(processes.splice(0).map((p) => p.kill('SIGKILL')));
  // Never leave a later test (or afterAll) behind a cut proxy or a held fake.
  await proxy.restore();
  gateway.releaseRequests();
  openai.releaseRequests();
  await gateway.close();
  await openai.close();
});

afterAll(async () => {
  await sql.end();
  await harness.close();
  await proxy.cut();
  await deletePrefix(prefix);
  await db.drop();
});

describe('worker SIGKILL', () => {
  it('during the AI call: after a restart the reply is committed and sent once, with one idempotency key', async () => {
    const remoteJid = '972500000101@s.whatsapp.net';
    openai.holdRequests();
    const first = await spawnWorker();
    const webhookJobId = await postMessage(remoteJid, 'KILL-AI-0001', 'Can I move my appointment to Friday?');

    const [request] = await openai.waitForRequests(1, 15_000);
    expect(request?.body.messages[0]).toEqual({ role: 'system', content: SYSTEM_PROMPT });
    expect(request?.body.messages.at(-1)).toEqual({ role: 'user', content: 'Can I move my appointment to Friday?' });
    const inbound = await waitForInbound(remoteJid);
    // The killed run had claimed the message and was waiting for the AI: nothing committed yet.
    expect(inbound.reply_state).toBe('claimed');

    expect(await first.kill('SIGKILL')).toBeNull();
    // The answer to the killed worker's request finds nobody to read it.
    openai.releaseRequests();
    expect(await outboxRows(inbound.conversation_id)).toEqual([]);
    expect(gateway.sends).toEqual([]);

    const second = await spawnWorker();
    const replyJob = replyJobId(TENANT, inbound.id);
    const { sends } = await expectAnsweredOnce({ remoteJid, webhookJobId, expectedText: 'Answer 2 to: Can I move my appointment to Friday?' });
    // The re-run came from stall recovery, not a failed attempt; it asked the AI again (allowed) and
    // sent the answer it got itself: the killed run's answer never reached a row.
    await second.waitForLog(STALLED_LOG, (l) => l['jobId'] === replyJob);
    expect(await counters('default', replyJob)).toEqual({ attemptsMade: 1, attemptsStarted: 2, stalledCounter: 1 });
    expect(openai.requests).toHaveLength(2);
    // Nothing made the gateway call twice: one request, one key.
    expect(sends).toHaveLength(1);
    expectHealthy(second);
  });

  it('after the gateway accepted the send: the re-run repeats the same key and records the same messageId', async () => {
    const remoteJid = '972500000102@s.whatsapp.net';
    gateway.holdRequests();
    const first = await spawnWorker();
    const webhookJobId = await postMessage(remoteJid, 'KILL-SEND-0001', 'Do you open on Sunday?');

    const [accepted] = await gateway.waitForSends(1);
    if (!accepted?.messageId) throw new Error('the gateway did not accept the first send');
    const inbound = await waitForInbound(remoteJid);
    const committed = await waitForOutbox(inbound.conversation_id);
    expect(accepted.idempotencyKey).toBe(outboxIdempotencyKey(TENANT, committed.id));
    expect(committed.state).toBe('pending');

    expect(await first.kill('SIGKILL')).toBeNull();
    gateway.releaseRequests();
    // The killed worker never learnt the messageId: the row is still pending.
    expect((await outboxRows(inbound.conversation_id))[0]?.state).toBe('pending');

    const second = await spawnWorker();
    const sendJob = sendJobId(TENANT, committed.id);
    const { outbox, sends } = await expectAnsweredOnce({ remoteJid, webhookJobId, expectedText: 'Answer 1 to: Do you open on Sunday?' });
    await second.waitForLog(STALLED_LOG, (l) => l['jobId'] === sendJob);
    expect(await counters('high', sendJob)).toEqual({ attemptsMade: 1, attemptsStarted: 2, stalledCounter: 1 });
    // Two requests (the killed one and the re-run), one key, one messageId: the one first assigned.
    expect(sends.map((s) => s.idempotencyKey)).toEqual([accepted.idempotencyKey, accepted.idempotencyKey]);
    expect(outbox.wa_message_id).toBe(accepted.messageId);
    // The reply was committed before the send: the AI was asked once.
    expect(openai.requests).toHaveLength(1);
    expectHealthy(second);
  });
});

describe('PostgreSQL unreachable', () => {
  it('when the message arrives: the store retries, then the reply goes out once', async () => {
    const remoteJid = '972500000201@s.whatsapp.net';
    const worker = await spawnWorker({ DATABASE_URL: proxiedDatabaseUrl() });
    await proxy.cut();
    const webhookJobId = await postMessage(remoteJid, 'PG-DOWN-STORE-0001', 'Is parking available?');

    await waitForFailedAttempt(worker, 'default', webhookJobId);
    expect(await inboundRows(remoteJid)).toEqual([]);
    await proxy.restore();

    await expectAnsweredOnce({ remoteJid, webhookJobId, expectedText: 'Answer 1 to: Is parking available?' });
    expect(worker.hasLog('Job failed', (l) => l['jobId'] === webhookJobId && l['willRetry'] === true)).toBe(true);
    expect(openai.requests).toHaveLength(1);
    expect(gateway.sends).toHaveLength(1);
    expectHealthy(worker);
  });

  it('while the AI answers: the commit fails and retries, then the reply goes out once', async () => {
    const remoteJid = '972500000202@s.whatsapp.net';
    openai.holdRequests();
    const worker = await spawnWorker({ DATABASE_URL: proxiedDatabaseUrl() });
    const webhookJobId = await postMessage(remoteJid, 'PG-DOWN-REPLY-0001', 'How much is a cleaning?');

    await openai.waitForRequests(1, 15_000);
    const inbound = await waitForInbound(remoteJid);
    const replyJob = replyJobId(TENANT, inbound.id);
    await proxy.cut();
    // The AI answers; the worker cannot commit the reply.
    openai.releaseRequests();
    await waitForFailedAttempt(worker, 'default', replyJob);
    expect(await outboxRows(inbound.conversation_id)).toEqual([]);
    expect(gateway.sends).toEqual([]);
    await proxy.restore();

    // The retry re-asks the AI (the first answer was never stored) and commits that one.
    await expectAnsweredOnce({ remoteJid, webhookJobId, expectedText: 'Answer 2 to: How much is a cleaning?' });
    expect(worker.hasLog('Job failed', (l) => l['jobId'] === replyJob && l['willRetry'] === true)).toBe(true);
    expect((await counters('default', replyJob)).attemptsMade).toBeGreaterThanOrEqual(2);
    expect(openai.requests).toHaveLength(2);
    expect(gateway.sends).toHaveLength(1);
    expectHealthy(worker);
  });

  it('after the gateway accepted the send: recording it fails and retries, the same key goes out again', async () => {
    const remoteJid = '972500000203@s.whatsapp.net';
    gateway.holdRequests();
    const worker = await spawnWorker({ DATABASE_URL: proxiedDatabaseUrl() });
    const webhookJobId = await postMessage(remoteJid, 'PG-DOWN-SEND-0001', 'Can I pay by card?');

    const [accepted] = await gateway.waitForSends(1);
    if (!accepted?.messageId) throw new Error('the gateway did not accept the first send');
    const inbound = await waitForInbound(remoteJid);
    const committed = await waitForOutbox(inbound.conversation_id);
    const sendJob = sendJobId(TENANT, committed.id);
    await proxy.cut();
    // The gateway answers with its messageId; the worker cannot record it.
    gateway.releaseRequests();
    await waitForFailedAttempt(worker, 'high', sendJob);
    expect((await outboxRows(inbound.conversation_id))[0]?.state).toBe('pending');
    await proxy.restore();

    const { outbox, sends } = await expectAnsweredOnce({ remoteJid, webhookJobId, expectedText: 'Answer 1 to: Can I pay by card?' });
    expect(worker.hasLog('Job failed', (l) => l['jobId'] === sendJob && l['willRetry'] === true)).toBe(true);
    expect(sends.map((s) => s.idempotencyKey)).toEqual([accepted.idempotencyKey, accepted.idempotencyKey]);
    expect(outbox.wa_message_id).toBe(accepted.messageId);
    expect(openai.requests).toHaveLength(1);
    expectHealthy(worker);
  });
});
