/**
 * Conversation summaries: a chat that goes quiet for SUMMARY_IDLE_MS is summarised once (however many
 * messages it had), and the summary is the AI's context for the next reply.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestDatabase } from './support/database.js';
import type { ChatRequestBody, FakeOpenAI } from './support/fake-openai.js';
import { nowSeconds, textMessageBody } from './support/fixtures.js';
import type { Harness } from './support/harness.js';
import { startTestStack, type TestStackWithOpenAI } from './support/stack.js';
import { waitFor } from './support/wait.js';

let stack: TestStackWithOpenAI;
let db: TestDatabase;
let harness: Harness;
let openai: FakeOpenAI;

const isSummaryRequest = (body: ChatRequestBody) => body.messages[0]?.content.startsWith('Summarise') === true;

beforeAll(async () => {
  stack = await startTestStack({
    withOpenAI: true,
    gatewaySecret: 'summaries-gateway-secret',
    env: { REPLY_DEBOUNCE_MS: '100', SUMMARY_IDLE_MS: '1500' },
  });
  ({ db, harness, openai } = stack);
  openai.answerWith((body) => (isSummaryRequest(body) ? 'Dana wants to move her appointment to Tuesday.' : 'Sure, Tuesday works.'));
  await harness.container.tenants.create({ id: 'acme', name: 'Acme', webhook_secret: null, system_prompt: 'You are Acme.' });
  await harness.startWorker();
});

// teardown(), not close(): this file makes no assertion about requests the fakes did not expect.
afterAll(() => stack?.teardown());

describe('summaries', () => {
  it('a quiet chat is summarised once, and the next reply gets the summary as context', async () => {
    const remoteJid = '972500000301@s.whatsapp.net';
    for (const [i, text] of ['Hi', 'Can I move my appointment?', 'Tuesday would be great'].entries()) {
      await harness.post(textMessageBody({ id: `SUM-${i}`, remoteJid, text, timestamp: nowSeconds() }));
    }
    const conversation = await waitFor(async () => {
      const [row] = await db.query<{ id: string; summary: string | null }>('select id, summary from conversations where remote_jid = $1', [remoteJid]);
      return row?.summary ? row : undefined;
    }, { what: 'the summary stored' });
    expect(conversation.summary).toBe('Dana wants to move her appointment to Tuesday.');

    // The customer's messages waited for a reply, so they left the summary to it: the reply's send
    // scheduled the one summary job, after our outbound message.
    const [reply] = await db.query<{ id: string }>('select id from messages where remote_jid = $1 and from_me order by id desc limit 1', [remoteJid]);
    const summaryJob = await waitFor(async () => {
      const found = await harness.container.queues.getJob('low', `summary|acme|${reply?.id ?? ''}`);
      return found?.state === 'completed' ? found : undefined;
    }, { what: 'the summary job after the reply finished' });
    expect(summaryJob.returnValue).toMatchObject({ outcome: 'summarised' });
    for (const id of ['SUM-0', 'SUM-1', 'SUM-2']) {
      const [m] = await db.query<{ id: string }>('select id from messages where wa_message_id = $1', [id]);
      expect(await harness.container.queues.getJob('low', `summary|acme|${m?.id ?? ''}`)).toBeNull();
    }
    expect(openai.requests.filter((r) => isSummaryRequest(r.body))).toHaveLength(1);

    await harness.post(textMessageBody({ id: 'SUM-3', remoteJid, text: 'Is 10:00 possible?', timestamp: nowSeconds() }));
    const next = await waitFor(
      () => openai.requests.find((r) => !isSummaryRequest(r.body) && r.body.messages.some((m) => m.content === 'Is 10:00 possible?')),
      { what: 'the reply request for the new message' },
    );
    expect(next.body.messages[0]?.content).toContain('Conversation so far (summary): Dana wants to move her appointment to Tuesday.');
  });
});
