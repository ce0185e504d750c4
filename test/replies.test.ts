/**
 * AI replies, end to end with a worker in-process: webhook → Redis → worker → PostgreSQL → a local
 * OpenAI-compatible server → the outbox → a local fake gateway, over real HTTP (issue 3's acceptance).
 *
 * Every test talks in its own chat (its own remoteJid) and its own texts, so sends are counted by
 * `to` and AI calls by the texts they carry. "Nothing happened" is asserted only after a positive
 * signal that processing finished (a final `reply_state`, a finished job).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { JobSnapshot, JobState } from '../src/queue/job-queues.js';
import { messageJobId, outboxIdempotencyKey, replyJobId, sendJobId } from '../src/queue/job-ids.js';
import { normalizeMessage } from '../src/whatsapp/normalize-message.js';
import type { QueueName } from '../src/queue/queue-names.js';
import type { TestDatabase } from './support/database.js';
import type { FakeGateway, RecordedSend } from './support/fake-gateway.js';
import type { ChatRequestBody, FakeOpenAI, RecordedRequest } from './support/fake-openai.js';
import { fixtureText, nowSeconds, textMessageBody } from './support/fixtures.js';
import type { Harness } from './support/harness.js';
import { startTestStack, type TestStackWithOpenAI } from './support/stack.js';
import { waitFor } from './support/wait.js';

const TENANT = 'acme';
const GATEWAY_SECRET = 'test-gateway-secret-0123456789';
const SYSTEM_PROMPT = 'You are the assistant of Acme Bikes. Answer in one sentence.';
const VOICE_NOTE_REPLY = 'We cannot listen to voice notes yet: please write to us.';
/** A customer text containing this gets an empty answer from the fake AI. */
const EMPTY_ANSWER_MARK = '[empty-answer-please]';

let stack: TestStackWithOpenAI;
let db: TestDatabase;
let harness: Harness;
let gateway: FakeGateway;
let openai: FakeOpenAI;

interface MessageRow {
  id: string;
  wa_message_id: string;
  remote_jid: string;
  from_me: boolean;
  text: string | null;
  status: number | null;
  delivered_at: Date | null;
  read_at: Date | null;
  reply_state: string | null;
  reply_note: string | null;
  outbox_id: string | null;
}

interface OutboxRow {
  id: string;
  to_jid: string;
  text: string;
  state: string;
  wa_message_id: string | null;
  attempts: number;
  last_error: string | null;
  sent_at: Date | null;
}

/** The fake AI's answer: a function of the request, so a test can predict the text that is sent. */
function aiAnswer(body: ChatRequestBody): string {
  const lastCustomerText = [...body.messages].reverse().find((m) => m.role === 'user')?.content ?? '';
  if (lastCustomerText.includes(EMPTY_ANSWER_MARK)) return '';
  return `Acme answers: ${lastCustomerText}`;
}

/** Posts like the gateway (a 503 is retried, as the gateway does) and expects the batch accepted. */
async function postOk(body: unknown): Promise<void> {
  const answer = await harness.postAsGateway(body);
  expect(answer.status, `${JSON.stringify(answer.body)} (producer Redis connection: ${harness.container.queues.connection.status})`).toBe(200);
}

function customerText(options: { id: string; remoteJid: string; text: string; fromMe?: boolean; participant?: string; timestamp?: number }) {
  return textMessageBody({ tenantId: TENANT, timestamp: nowSeconds(), ...options });
}

async function message(waMessageId: string, fromMe = false): Promise<MessageRow | undefined> {
  const [row] = await db.query<MessageRow>('select * from messages where tenant_id = $1 and wa_message_id = $2 and from_me = $3', [
    TENANT,
    waMessageId,
    fromMe,
  ]);
  return row;
}

/** Waits until the inbound message's reply is decided: answered, skipped or failed. */
async function waitForFinalReplyState(waMessageId: string): Promise<MessageRow> {
  return waitFor(
    async () => {
      const row = await message(waMessageId);
      return row && ['answered', 'skipped', 'failed'].includes(row.reply_state ?? '') ? row : undefined;
    },
    { what: `the reply to ${waMessageId} to be decided` },
  );
}

async function outboxTo(remoteJid: string): Promise<OutboxRow[]> {
  return db.query<OutboxRow>('select * from outbox where tenant_id = $1 and to_jid = $2 order by id', [TENANT, remoteJid]);
}

async function job(queue: QueueName, jobId: string): Promise<JobSnapshot | null> {
  return harness.container.queues.getJob(queue, jobId);
}

async function waitForJob(queue: QueueName, jobId: string, state: JobState): Promise<JobSnapshot> {
  return waitFor(
    async () => {
      const snapshot = await job(queue, jobId);
      return snapshot?.state === state ? snapshot : undefined;
    },
    { what: `job ${jobId} on ${queue} to be ${state}` },
  );
}

function sendsTo(remoteJid: string): RecordedSend[] {
  return gateway.sends.filter((send) => send.body.to === remoteJid);
}

async function waitForSendTo(remoteJid: string, status = 200): Promise<RecordedSend> {
  return waitFor(() => sendsTo(remoteJid).find((send) => send.status === status), { what: `a ${status} send to ${remoteJid}` });
}

/** The AI calls whose conversation carried this text. */
function aiRequestsWith(text: string): RecordedRequest[] {
  return openai.requests.filter((request) => request.body.messages.some((m) => m.content.includes(text)));
}

/** Waits for the outbox row of a chat to be sent and its send job to complete; returns both. */
async function waitForDelivered(remoteJid: string): Promise<{ outbox: OutboxRow; send: RecordedSend; sendJob: JobSnapshot }> {
  const send = await waitForSendTo(remoteJid);
  const outbox = await waitFor(
    async () => {
      const rows = await outboxTo(remoteJid);
      return rows.find((row) => row.state === 'sent');
    },
    { what: `the outbox row to ${remoteJid} to be sent` },
  );
  const sendJob = await waitForJob('high', sendJobId(TENANT, outbox.id), 'completed');
  return { outbox, send, sendJob };
}

beforeAll(async () => {
  stack = await startTestStack({
    withOpenAI: true,
    gatewaySecret: GATEWAY_SECRET,
    env: {
      // The window counts from when the worker stored a message: wide enough that a burst stored
      // with some lag (a loaded 2-core CI machine) still lands in one window.
      REPLY_DEBOUNCE_MS: '1000',
      JOB_BACKOFF_MS: '50',
      // Bounded, but far above what the local fakes need: a timeout would add a retry to the counts.
      AI_TIMEOUT_MS: '5000',
      GATEWAY_TIMEOUT_MS: '5000',
      // Summaries would add AI calls to the counts here; they stay far in the future.
      SUMMARY_IDLE_MS: '600000',
    },
  });
  ({ db, harness, gateway, openai } = stack);
  openai.answerWith(aiAnswer);
  await harness.container.tenants.create({
    id: TENANT,
    name: 'Acme Bikes',
    webhook_secret: null,
    system_prompt: SYSTEM_PROMPT,
    voice_note_reply: VOICE_NOTE_REPLY,
  });
  await harness.startWorker();
});

afterEach(() => stack.assertNoUnexpected());

afterAll(() => stack?.close());

describe('one customer message, one reply', () => {
  it('is answered once with the AI text, to the exact remoteJid, through the outbox', async () => {
    const jid = '972500000101@s.whatsapp.net';
    const text = 'R1: Do you repair e-bikes on Saturdays?';
    await postOk(customerText({ id: 'R1-IN-1', remoteJid: jid, text }));

    const { outbox, send, sendJob } = await waitForDelivered(jid);
    const [request] = aiRequestsWith(text);
    expect(request).toBeDefined();
    const expectedAnswer = aiAnswer(request?.body ?? { model: '', messages: [] });
    expect(send.body).toEqual({
      tenantId: TENANT,
      to: jid,
      type: 'text',
      text: expectedAnswer,
      idempotencyKey: outboxIdempotencyKey(TENANT, outbox.id),
    });
    expect(send.headers['x-internal-secret']).toBe(GATEWAY_SECRET);
    expect(outbox).toMatchObject({ state: 'sent', to_jid: jid, text: expectedAnswer, wa_message_id: send.messageId, last_error: null });
    expect(sendJob.returnValue).toEqual({ outcome: 'sent', waMessageId: send.messageId });

    // The AI saw the tenant's system prompt and the customer's text.
    expect(request?.body.messages[0]).toEqual({ role: 'system', content: SYSTEM_PROMPT });
    expect(request?.body.messages).toContainEqual({ role: 'user', content: text });

    const inbound = await message('R1-IN-1');
    expect(inbound).toMatchObject({ reply_state: 'answered', outbox_id: outbox.id });
    const outbound = await message(send.messageId ?? '', true);
    expect(outbound).toMatchObject({ from_me: true, remote_jid: jid, text: expectedAnswer, outbox_id: outbox.id });

    // Processing is over (the send job completed): exactly one AI call and one send.
    expect(aiRequestsWith(text)).toHaveLength(1);
    expect(sendsTo(jid)).toHaveLength(1);
    expect(await outboxTo(jid)).toHaveLength(1);
  });

  it('a @lid chat is answered to its @lid jid, never rebuilt from a phone number', async () => {
    const jid = '203445566770101@lid';
    const text = 'R1b: Is the 10:30 slot free?';
    await postOk(customerText({ id: 'R1B-IN-1', remoteJid: jid, text }));

    const { send, outbox } = await waitForDelivered(jid);
    expect(send.body.to).toBe(jid);
    expect(outbox.to_jid).toBe(jid);
    expect(gateway.sends.filter((s) => s.body.text === send.body.text)).toHaveLength(1);
  });

  it('our own send, echoed back by the gateway as a fromMe upsert, does not pause the AI', async () => {
    const jid = '972500000102@s.whatsapp.net';
    await postOk(customerText({ id: 'R1C-IN-1', remoteJid: jid, text: 'R1c: first question' }));
    const first = await waitForDelivered(jid);
    const echoId = first.send.messageId ?? '';
    await postOk(customerText({ id: echoId, remoteJid: jid, text: first.send.body.text, fromMe: true }));
    await waitForJob('default', messageJobId(TENANT, { remoteJid: jid, id: echoId, fromMe: true }), 'completed');
    expect(await db.query('select 1 from messages where wa_message_id = $1', [echoId])).toHaveLength(1);

    await postOk(customerText({ id: 'R1C-IN-2', remoteJid: jid, text: 'R1c: second question' }));
    const second = await waitForFinalReplyState('R1C-IN-2');
    expect(second).toMatchObject({ reply_state: 'answered', reply_note: null });
    await waitFor(async () => (await outboxTo(jid)).filter((row) => row.state === 'sent').length === 2, { what: 'the second reply sent' });
    expect(sendsTo(jid).map((s) => s.body.text)).toEqual([first.send.body.text, 'Acme answers: R1c: second question']);
  });
});

describe('effectively once', () => {
  it('1,000 concurrent posts of one message → one AI call, one send', async () => {
    const jid = '972500000201@s.whatsapp.net';
    const text = 'R2: Are you open on Sunday?';
    const body = JSON.stringify(customerText({ id: 'R2-BURST-1', remoteJid: jid, text }));
    const answers = await Promise.all(Array.from({ length: 1000 }, () => harness.postAsGateway(body)));
    expect(answers.filter((a) => a.status !== 200)).toEqual([]);

    await waitForDelivered(jid);
    const inbound = await waitForFinalReplyState('R2-BURST-1');
    await waitForJob('default', replyJobId(TENANT, inbound.id), 'completed');
    expect(aiRequestsWith(text)).toHaveLength(1);
    expect(sendsTo(jid)).toHaveLength(1);
    expect(await db.query('select 1 from messages where wa_message_id = $1', ['R2-BURST-1'])).toHaveLength(1);
  });

  it('three messages within the debounce window → one AI call with all three, one send', async () => {
    const jid = '972500000301@s.whatsapp.net';
    const texts = ['R3: Hi', 'R3: I bought a bike last week', 'R3: the brakes squeak, can you check them?'];
    // Posted together, as a customer's burst arrives: all three within the window even on a loaded machine.
    await Promise.all(texts.map((text, i) => postOk(customerText({ id: `R3-IN-${i + 1}`, remoteJid: jid, text }))));

    const { outbox } = await waitForDelivered(jid);
    const rows = await Promise.all(texts.map((_, i) => waitForFinalReplyState(`R3-IN-${i + 1}`)));
    expect(rows.map((r) => [r.reply_state, r.outbox_id])).toEqual(texts.map(() => ['answered', outbox.id]));
    // The first message of the burst armed the one reply job; the others joined it and scheduled none.
    const [first, ...joined] = [...rows].sort((a, b) => Number(a.id) - Number(b.id));
    const replyJob = await waitForJob('default', replyJobId(TENANT, first?.id ?? ''), 'completed');
    expect(replyJob.returnValue).toMatchObject({ outcome: 'answered', answered: 3 });
    for (const row of joined) expect(await job('default', replyJobId(TENANT, row.id))).toBeNull();

    const requests = aiRequestsWith('R3: ');
    expect(requests).toHaveLength(1);
    // All three, in whatever order: they were posted concurrently, so their arrival order is open.
    const userTurns = requests[0]?.body.messages.filter((m) => m.role === 'user').map((m) => m.content) ?? [];
    expect([...userTurns].sort()).toEqual([...texts].sort());
    expect(sendsTo(jid)).toHaveLength(1);
    expect(await outboxTo(jid)).toHaveLength(1);
  });
});

describe('a burst whose arming message never scheduled its reply job', () => {
  it('is answered once the next message arrives: it re-schedules the armed job', async () => {
    const jid = '972500000331@s.whatsapp.net';
    // What a webhook job that stored its message and then died for good (before scheduling the reply
    // job) leaves behind: the message pending and the conversation armed by it, with no job.
    const raw = customerText({ id: 'ARMED-IN-1', remoteJid: jid, text: 'ARMED: anyone there?' }).payload.messages[0];
    const normalized = normalizeMessage(raw);
    if (!normalized) throw new Error('the fixture did not normalise');
    const stored = await harness.container.messages.store(TENANT, normalized, { awaitsReply: true, receivedAt: new Date() });
    expect(stored).toMatchObject({ isNew: true, replyState: 'pending', replyJobMessageId: stored.messageId });
    expect(await job('default', replyJobId(TENANT, stored.messageId ?? ''))).toBeNull();

    await postOk(customerText({ id: 'ARMED-IN-2', remoteJid: jid, text: 'ARMED: hello?' }));
    const { outbox } = await waitForDelivered(jid);
    const rows = await Promise.all(['ARMED-IN-1', 'ARMED-IN-2'].map((id) => waitForFinalReplyState(id)));
    expect(rows.map((r) => [r.reply_state, r.outbox_id])).toEqual([
      ['answered', outbox.id],
      ['answered', outbox.id],
    ]);
    // The job that answered is the armed message's, created by the second message's run.
    expect((await waitForJob('default', replyJobId(TENANT, stored.messageId ?? ''), 'completed')).returnValue).toMatchObject({
      outcome: 'answered',
      answered: 2,
    });
    expect(sendsTo(jid)).toHaveLength(1);
  });

});

describe('a committed reply whose send job was never enqueued', () => {
  it("goes out, once, with the chat's next reply job", async () => {
    const jid = '972500000341@s.whatsapp.net';
    await postOk(customerText({ id: 'ORPHAN-IN-1', remoteJid: jid, text: 'ORPHAN: first question' }));
    const first = await waitForDelivered(jid);
    // What a reply job that committed and then died for good (before enqueueing the send) leaves
    // behind: a pending outbox row with no send job.
    const [orphan] = await db.query<{ id: string; conversation_id: string }>(
      `insert into outbox (tenant_id, conversation_id, to_jid, text, purpose)
       select tenant_id, conversation_id, to_jid, 'ORPHAN: the reply whose send was lost', 'reply' from outbox where id = $1
       returning id, conversation_id`,
      [first.outbox.id],
    );
    if (!orphan) throw new Error('the orphan outbox row was not inserted');
    expect(await job('high', sendJobId(TENANT, orphan.id))).toBeNull();

    await postOk(customerText({ id: 'ORPHAN-IN-2', remoteJid: jid, text: 'ORPHAN: second question' }));
    await waitForFinalReplyState('ORPHAN-IN-2');
    expect((await waitForJob('high', sendJobId(TENANT, orphan.id), 'completed')).returnValue).toMatchObject({ outcome: 'sent' });
    const orphanSends = sendsTo(jid).filter((send) => send.body.text === 'ORPHAN: the reply whose send was lost');
    expect(orphanSends).toHaveLength(1);
    expect(orphanSends[0]?.body.idempotencyKey).toBe(outboxIdempotencyKey(TENANT, orphan.id));
    // And the second question got its own reply: three sends in all.
    await waitFor(() => (sendsTo(jid).length === 3 ? true : undefined), { what: 'three sends to the chat' });
    expect((await outboxTo(jid)).map((row) => row.state)).toEqual(['sent', 'sent', 'sent']);
  });
});

describe('a slow AI', () => {
  it('a message arriving while the first reply waits on the AI is answered in the same single reply', async () => {
    const jid = '972500000321@s.whatsapp.net';
    openai.holdRequests();
    try {
      await postOk(customerText({ id: 'SLOW-IN-1', remoteJid: jid, text: 'SLOW: are you open today?' }));
      await waitFor(() => aiRequestsWith('SLOW: are you open').length === 1, { what: 'the first reply job asking the AI' });
      await postOk(customerText({ id: 'SLOW-IN-2', remoteJid: jid, text: 'SLOW: and tomorrow?' }));
      // The second job takes over the first one's claim and asks again, with both messages.
      await waitFor(() => aiRequestsWith('SLOW: and tomorrow?').length === 1, { what: 'the second reply job asking the AI' });
    } finally {
      openai.releaseRequests();
    }
    const { outbox } = await waitForDelivered(jid);
    const rows = await Promise.all(['SLOW-IN-1', 'SLOW-IN-2'].map((id) => waitForFinalReplyState(id)));
    expect(rows.map((r) => [r.reply_state, r.outbox_id])).toEqual([
      ['answered', outbox.id],
      ['answered', outbox.id],
    ]);
    const first = await waitForJob('default', replyJobId(TENANT, rows[0]?.id ?? ''), 'completed');
    expect(first.returnValue).toMatchObject({ outcome: 'taken_over' });
    expect(sendsTo(jid)).toHaveLength(1);
    expect(await outboxTo(jid)).toHaveLength(1);
  });
});

describe('gateway and AI faults', () => {
  it('gateway 500 three times, then up → one reply delivered under one idempotency key', async () => {
    const jid = '972500000401@s.whatsapp.net';
    gateway.failNext(3, 500);
    await postOk(customerText({ id: 'R4-IN-1', remoteJid: jid, text: 'R4: is my bike ready?' }));

    const { outbox, sendJob } = await waitForDelivered(jid);
    const attempts = sendsTo(jid);
    expect(attempts.map((s) => s.status)).toEqual([500, 500, 500, 200]);
    expect(new Set(attempts.map((s) => s.idempotencyKey))).toEqual(new Set([outboxIdempotencyKey(TENANT, outbox.id)]));
    expect(new Set(attempts.map((s) => s.body.text)).size).toBe(1);
    expect(outbox).toMatchObject({ state: 'sent', attempts: 3, last_error: null, wa_message_id: attempts[3]?.messageId });
    // BullMQ counts the successful attempt too: three failures and the send that went through.
    expect(sendJob.attemptsMade).toBe(4);
    expect(await outboxTo(jid)).toHaveLength(1);
  });

  it('gateway 400 → the outbox row fails with the reason, the send job fails at once, no retry', async () => {
    const jid = '972500000402@s.whatsapp.net';
    gateway.failNext(1, 400, { error: 'bad_request', message: 'Recipient is not on WhatsApp' });
    await postOk(customerText({ id: 'R4B-IN-1', remoteJid: jid, text: 'R4b: hello?' }));

    const failedRow = await waitFor(async () => (await outboxTo(jid)).find((row) => row.state === 'failed'), {
      what: 'the outbox row failed',
    });
    expect(failedRow.wa_message_id).toBeNull();
    expect(failedRow.last_error).toContain('400');
    expect(failedRow.last_error).toContain('Recipient is not on WhatsApp');
    const sendJob = await waitForJob('high', sendJobId(TENANT, failedRow.id), 'failed');
    expect(sendJob.attemptsMade).toBe(1);
    expect(sendJob.failedReason).toContain('Gateway refused the message');
    expect(sendJob.failedReason).toContain('Recipient is not on WhatsApp');
    expect(sendsTo(jid)).toHaveLength(1);
    expect(await message('R4B-IN-1')).toMatchObject({ reply_state: 'answered', outbox_id: failedRow.id });
  });

  it('AI server down for a while → the reply goes out once it is back', async () => {
    const jid = '972500000501@s.whatsapp.net';
    const text = 'R5: can I book a repair?';
    await openai.down();
    try {
      await postOk(customerText({ id: 'R5-IN-1', remoteJid: jid, text }));
      const inbound = await waitFor(() => message('R5-IN-1'), { what: 'the message stored' });
      await waitFor(async () => ((await job('default', replyJobId(TENANT, inbound.id)))?.attemptsMade ?? 0) >= 1, {
        what: 'the reply job to fail at least once',
      });
      expect(sendsTo(jid)).toHaveLength(0);
    } finally {
      await openai.up();
    }

    const { send } = await waitForDelivered(jid);
    expect(send.body.text).toBe(`Acme answers: ${text}`);
    const inbound = await waitForFinalReplyState('R5-IN-1');
    const replyJob = await waitForJob('default', replyJobId(TENANT, inbound.id), 'completed');
    // At least one failed attempt while the AI was down, and the one that answered.
    expect(replyJob.attemptsMade).toBeGreaterThanOrEqual(2);
    expect(inbound.reply_state).toBe('answered');
    expect(aiRequestsWith(text)).toHaveLength(1);
    expect(sendsTo(jid)).toHaveLength(1);
  });
});

describe('messages that get no AI reply', () => {
  it('a fromMe message typed on the phone is stored, unanswered, and pauses the AI in that chat', async () => {
    const jid = '972500000601@s.whatsapp.net';
    await postOk(customerText({ id: 'R6-HUMAN-1', remoteJid: jid, text: 'R6: typed by a person on the business phone', fromMe: true }));
    await waitForJob('default', messageJobId(TENANT, { remoteJid: jid, id: 'R6-HUMAN-1', fromMe: true }), 'completed');
    const human = await message('R6-HUMAN-1', true);
    expect(human).toMatchObject({ from_me: true, outbox_id: null, reply_state: null });

    const text = 'R6: and a customer writes right after';
    await postOk(customerText({ id: 'R6-IN-1', remoteJid: jid, text }));
    const inbound = await waitForFinalReplyState('R6-IN-1');
    expect(inbound).toMatchObject({ reply_state: 'skipped', reply_note: 'human_takeover', outbox_id: null });
    await waitForJob('default', replyJobId(TENANT, inbound.id), 'completed');
    expect(aiRequestsWith('R6: ')).toHaveLength(0);
    expect(sendsTo(jid)).toHaveLength(0);
    expect(await outboxTo(jid)).toHaveLength(0);
  });

  it('a group message is stored and skipped: group replies are off by default', async () => {
    const jid = '120363000000000601@g.us';
    await postOk(customerText({ id: 'R6G-IN-1', remoteJid: jid, participant: '972500000699@s.whatsapp.net', text: 'R6g: hello group' }));
    const inbound = await waitForFinalReplyState('R6G-IN-1');
    expect(inbound).toMatchObject({ reply_state: 'skipped', reply_note: 'group_replies_disabled' });
    await waitForJob('default', replyJobId(TENANT, inbound.id), 'completed');
    expect(aiRequestsWith('R6g: ')).toHaveLength(0);
    expect(sendsTo(jid)).toHaveLength(0);
  });

  it('a status story is stored and never considered for a reply', async () => {
    const jid = 'status@broadcast';
    await postOk(customerText({ id: 'R6S-IN-1', remoteJid: jid, participant: '972500000698@s.whatsapp.net', text: 'R6s: my story' }));
    await waitForJob('default', messageJobId(TENANT, { remoteJid: jid, id: 'R6S-IN-1', fromMe: false }), 'completed');
    const story = await message('R6S-IN-1');
    expect(story).toMatchObject({ reply_state: null, outbox_id: null });
    expect(await job('default', replyJobId(TENANT, story?.id ?? '0'))).toBeNull();
    expect(sendsTo(jid)).toHaveLength(0);
  });

  it('an old message is stored but not answered; a chat whose AI was turned off gets no reply', async () => {
    const jid = '972500000602@s.whatsapp.net';
    // An hour and a half old (REPLY_MAX_AGE_MINUTES is 60): history, not a question to answer now.
    await postOk(customerText({ id: 'R6A-OLD-1', remoteJid: jid, text: 'R6a: old message', timestamp: nowSeconds() - 90 * 60 }));
    expect(await waitForFinalReplyState('R6A-OLD-1')).toMatchObject({ reply_state: 'skipped', reply_note: 'too_old' });

    await db.query('update conversations set ai_enabled = false where tenant_id = $1 and remote_jid = $2', [TENANT, jid]);
    await postOk(customerText({ id: 'R6A-IN-1', remoteJid: jid, text: 'R6a: anyone there?' }));
    const inbound = await waitForFinalReplyState('R6A-IN-1');
    expect(inbound).toMatchObject({ reply_state: 'skipped', reply_note: 'ai_disabled' });
    await waitForJob('default', replyJobId(TENANT, inbound.id), 'completed');
    expect(aiRequestsWith('R6a: ')).toHaveLength(0);
    expect(sendsTo(jid)).toHaveLength(0);
  });

  it("a voice note gets the tenant's voice-note notice, without asking the AI", async () => {
    const jid = '972500000701@s.whatsapp.net';
    const fixture = JSON.parse(fixtureText('upsert-voice-note.json')) as {
      payload: { messages: Array<Record<string, unknown>> };
    };
    const [voice] = fixture.payload.messages;
    expect(voice?.['message']).toMatchObject({ audioMessage: { ptt: true } });
    await postOk({
      tenantId: TENANT,
      event: 'messages.upsert',
      payload: {
        type: 'notify',
        messages: [{ ...voice, key: { remoteJid: jid, fromMe: false, id: 'R7-VOICE-1' }, messageTimestamp: nowSeconds() }],
      },
    });

    const { send, outbox } = await waitForDelivered(jid);
    expect(send.body.text).toBe(VOICE_NOTE_REPLY);
    expect(outbox.text).toBe(VOICE_NOTE_REPLY);
    expect(await waitForFinalReplyState('R7-VOICE-1')).toMatchObject({ reply_state: 'answered', outbox_id: outbox.id });
    expect(aiRequestsWith('[voice note]')).toHaveLength(0);
    expect(sendsTo(jid)).toHaveLength(1);
  });

  it('an empty AI answer is not sent', async () => {
    const jid = '972500000801@s.whatsapp.net';
    const text = `R8: say nothing ${EMPTY_ANSWER_MARK}`;
    await postOk(customerText({ id: 'R8-IN-1', remoteJid: jid, text }));
    const inbound = await waitForFinalReplyState('R8-IN-1');
    expect(inbound).toMatchObject({ reply_state: 'skipped', reply_note: 'empty_ai_answer', outbox_id: null });
    const replyJob = await waitForJob('default', replyJobId(TENANT, inbound.id), 'completed');
    expect(replyJob.returnValue).toEqual({ outcome: 'skipped', reason: 'empty_ai_answer' });
    expect(aiRequestsWith(text)).toHaveLength(1);
    expect(sendsTo(jid)).toHaveLength(0);
    expect(await outboxTo(jid)).toHaveLength(0);
  });
});

describe('receipts for a sent reply', () => {
  it('delivered then read moves the outbound row to status 4', async () => {
    const jid = '972500000901@s.whatsapp.net';
    await postOk(customerText({ id: 'R9-IN-1', remoteJid: jid, text: 'R9: thanks!' }));
    const { send } = await waitForDelivered(jid);
    const sentId = send.messageId ?? '';
    expect((await message(sentId, true))?.status).toBe(1);

    for (const status of [3, 4]) {
      await postOk({
        tenantId: TENANT,
        event: 'messages.update',
        payload: [{ key: { remoteJid: jid, fromMe: true, id: sentId }, update: { status } }],
      });
    }
    const row = await waitFor(
      async () => {
        const r = await message(sentId, true);
        return r?.status === 4 && r.delivered_at && r.read_at ? r : undefined;
      },
      { what: 'the reply read' },
    );
    expect(row.from_me).toBe(true);
    expect(row.outbox_id).not.toBeNull();
  });

  it('a receipt that reaches us before the send is recorded is applied when it is', async () => {
    const jid = '972500000902@s.whatsapp.net';
    gateway.holdRequests();
    let sentId: string;
    try {
      await postOk(customerText({ id: 'R9B-IN-1', remoteJid: jid, text: 'R9b: quick one' }));
      const held = await waitFor(() => sendsTo(jid)[0], { what: 'the reply send reaching the gateway' });
      sentId = held.messageId ?? '';
      // WhatsApp says "delivered" while the worker still waits for the gateway's answer.
      await postOk({
        tenantId: TENANT,
        event: 'messages.update',
        payload: [{ key: { remoteJid: jid, fromMe: true, id: sentId }, update: { status: 3 } }],
      });
      await waitFor(
        async () => (await db.query('select 1 from pending_receipts where wa_message_id = $1', [sentId])).length === 1,
        { what: 'the early receipt parked' },
      );
    } finally {
      gateway.releaseRequests();
    }
    const row = await waitFor(
      async () => {
        const r = await message(sentId, true);
        return r?.status === 3 && r.delivered_at ? r : undefined;
      },
      { what: 'the parked receipt applied when the send was recorded' },
    );
    expect(row.outbox_id).not.toBeNull();
    expect(await db.query('select 1 from pending_receipts where wa_message_id = $1', [sentId])).toHaveLength(0);
  });
});
