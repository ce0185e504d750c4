import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeOpenAI } from '../../test/support/fake-openai.js';
import { createOpenAiProvider, SUMMARY_INSTRUCTION } from './openai-provider.js';
import { AiPermanentError, AiRetryableError, type ReplyRequest } from './reply-generator.js';

const API_KEY = 'sk-test-switchboard-0123456789';
const MODEL = 'gpt-test-mini';

let fake: FakeOpenAI;

beforeAll(async () => {
  fake = await FakeOpenAI.start();
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => fake.reset());
afterEach(() => fake.assertNoUnexpected());

function provider(timeoutMs = 5_000) {
  return createOpenAiProvider({ apiKey: API_KEY, baseURL: fake.baseURL, model: MODEL, timeoutMs });
}

function replyRequest(overrides: Partial<ReplyRequest> = {}): ReplyRequest {
  return {
    tenantId: 'acme',
    systemPrompt: 'You are the friendly assistant of Acme Bikes.',
    summary: null,
    history: [{ role: 'user', content: 'Do you repair e-bikes?' }],
    template: 'unused by this provider',
    customerName: 'Ana',
    ...overrides,
  };
}

async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Error) return error;
    throw new Error(`rejected with a non-Error: ${String(error)}`);
  }
  throw new Error('expected the promise to reject');
}

describe('openai provider: reply', () => {
  it('sends the system prompt with the summary, then the history in order, to the configured model with the key', async () => {
    fake.answerWith(() => '  Yes, we repair e-bikes every weekday.  ');

    const text = await provider().reply(
      replyRequest({
        summary: 'Ana owns a blue e-bike and asked about repairs last week.',
        history: [
          { role: 'user', content: 'Hi!' },
          { role: 'assistant', content: 'Hello Ana, how can we help?' },
          { role: 'user', content: 'Do you repair e-bikes?' },
        ],
      }),
    );

    expect(text).toBe('Yes, we repair e-bikes every weekday.');
    const [request] = await fake.waitForRequests(1);
    expect(request?.body.model).toBe(MODEL);
    expect(request?.body.messages).toEqual([
      {
        role: 'system',
        content:
          'You are the friendly assistant of Acme Bikes.\n\n' +
          'Conversation so far (summary): Ana owns a blue e-bike and asked about repairs last week.',
      },
      { role: 'user', content: 'Hi!' },
      { role: 'assistant', content: 'Hello Ana, how can we help?' },
      { role: 'user', content: 'Do you repair e-bikes?' },
    ]);
    expect(request?.headers.authorization).toBe(`Bearer ${API_KEY}`);
  });

  it("answers with the server's reply, and sends the bare system prompt when there is no summary", async () => {
    const text = await provider().reply(replyRequest());

    expect(text).toBe('Echo: Do you repair e-bikes?');
    expect(fake.requests[0]?.body.messages[0]).toEqual({
      role: 'system',
      content: 'You are the friendly assistant of Acme Bikes.',
    });
  });

  it.each([
    ['null', null],
    ['blank', '  \n '],
  ])("returns '' when the model's content is %s", async (_label, content) => {
    fake.answerWith(() => content);

    expect(await provider().reply(replyRequest())).toBe('');
  });

  it('still answers when the server is slow but within the timeout', async () => {
    fake.latencyMs = 100;

    expect(await provider(2_000).reply(replyRequest())).toBe('Echo: Do you repair e-bikes?');
  });
});

describe('openai provider: failures', () => {
  it.each([429, 500, 503, 408])('a %i is retryable, tried once (the job queue retries, not the client)', async (status) => {
    fake.failNext(1, status, `Upstream says ${status}`);

    const error = await rejectionOf(provider().reply(replyRequest()));

    expect(error).toBeInstanceOf(AiRetryableError);
    expect(error).toMatchObject({ status });
    expect(error.message).toContain(String(status));
    expect(error.message).toContain(`Upstream says ${status}`);
    expect(fake.requests).toHaveLength(1);
  });

  it.each([301, 307, 308])('a %i redirect is permanent and not followed (it would carry the key elsewhere)', async (status) => {
    fake.failNext(1, status);

    const error = await rejectionOf(provider().reply(replyRequest()));

    expect(error).toBeInstanceOf(AiPermanentError);
    expect(error).toMatchObject({ status });
    expect(error.message).toBe(`AI provider redirected with ${status}; check OPENAI_BASE_URL`);
    expect(fake.requests).toHaveLength(1);
  });

  it.each([400, 401, 403, 404, 422])('a %i is permanent, with the status and the provider message', async (status) => {
    fake.failNext(1, status);

    const error = await rejectionOf(provider().reply(replyRequest()));

    expect(error).toBeInstanceOf(AiPermanentError);
    expect(error).toMatchObject({ status });
    expect(error.message).toContain(String(status));
    expect(fake.requests).toHaveLength(1);
  });

  it('never puts the API key in an error, even when the server echoes it', async () => {
    fake.failNext(1, 401, `Incorrect API key provided: ${API_KEY}.`);

    const error = await rejectionOf(provider().reply(replyRequest()));

    expect(error).toBeInstanceOf(AiPermanentError);
    expect(error.message).toContain('401');
    expect(error.message).toContain('Incorrect API key provided');
    expect(error.message).not.toContain(API_KEY);
    expect(JSON.stringify(error)).not.toContain(API_KEY);
  });

  it('a server that never answers is a retryable timeout within about a second', async () => {
    fake.holdRequests();
    const started = Date.now();

    const pending = rejectionOf(provider(300).reply(replyRequest()));
    await fake.waitForRequests(1);
    const error = await pending;

    expect(error).toBeInstanceOf(AiRetryableError);
    expect(error.message).toMatch(/timed out/);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('a server that sends headers and then stalls the body is a retryable timeout too', async () => {
    fake.holdRequests('after-headers');
    const started = Date.now();

    const error = await rejectionOf(provider(300).reply(replyRequest()));

    expect(error).toBeInstanceOf(AiRetryableError);
    expect(error.message).toMatch(/timed out/);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(fake.requests).toHaveLength(1);
  });

  it('a server that is down is retryable, and answers again once it is back', async () => {
    const ai = provider();
    await fake.down();
    try {
      const error = await rejectionOf(ai.reply(replyRequest()));
      expect(error).toBeInstanceOf(AiRetryableError);
      expect(error.message).toMatch(/unreachable/);
    } finally {
      await fake.up();
    }

    expect(await ai.reply(replyRequest())).toBe('Echo: Do you repair e-bikes?');
  });

  it.each([
    ['an empty object', {}],
    ['no choices', { choices: [] }],
    ['a choice without a message', { choices: [{ index: 0, finish_reason: 'stop' }] }],
    ['content that is not text', { choices: [{ message: { role: 'assistant', content: 42 } }] }],
  ])('a response with %s is a retryable malformed response', async (_label, body) => {
    fake.answerRaw(body);

    const error = await rejectionOf(provider().reply(replyRequest()));

    expect(error).toBeInstanceOf(AiRetryableError);
    expect(error.message).toBe('Malformed AI response');
  });

  it('a body that is not JSON is a retryable malformed response', async () => {
    fake.answerRaw('<html>502 Bad Gateway</html>');

    const error = await rejectionOf(provider().reply(replyRequest()));

    expect(error).toBeInstanceOf(AiRetryableError);
    expect(error.message).toMatch(/^Malformed AI response/);
  });
});

describe('openai provider: summarize', () => {
  it('sends the instruction, the previous summary and the conversation as a transcript', async () => {
    fake.answerWith(() => ' Ana wants her e-bike repaired; we promised a slot on Friday. ');

    const summary = await provider().summarize({
      tenantId: 'acme',
      previousSummary: 'Ana owns a blue e-bike.',
      history: [
        { role: 'user', content: 'Can you fix my brakes?' },
        { role: 'assistant', content: 'Yes, Friday at 10?' },
        { role: 'user', content: 'Perfect.' },
      ],
    });

    expect(summary).toBe('Ana wants her e-bike repaired; we promised a slot on Friday.');
    const [request] = await fake.waitForRequests(1);
    expect(request?.body.model).toBe(MODEL);
    const [system, user, ...rest] = request?.body.messages ?? [];
    expect(rest).toEqual([]);
    expect(system?.role).toBe('system');
    expect(system?.content).toContain(SUMMARY_INSTRUCTION);
    expect(system?.content).toContain('Ana owns a blue e-bike.');
    expect(user).toEqual({
      role: 'user',
      content: 'Customer: Can you fix my brakes?\nBusiness: Yes, Friday at 10?\nCustomer: Perfect.',
    });
  });

  it('sends only the instruction as the system message when there is no previous summary', async () => {
    await provider().summarize({ tenantId: 'acme', previousSummary: null, history: [{ role: 'user', content: 'Hi' }] });

    expect(fake.requests[0]?.body.messages[0]).toEqual({ role: 'system', content: SUMMARY_INSTRUCTION });
  });

  it('keeps the previous summary without asking the model when there is nothing new', async () => {
    const summary = await provider().summarize({ tenantId: 'acme', previousSummary: 'Ana owns a blue e-bike.', history: [] });

    expect(summary).toBe('Ana owns a blue e-bike.');
    expect(fake.requests).toHaveLength(0);
  });

  it('maps errors like reply does', async () => {
    fake.failNext(1, 429);

    const error = await rejectionOf(
      provider().summarize({ tenantId: 'acme', previousSummary: null, history: [{ role: 'user', content: 'Hi' }] }),
    );

    expect(error).toBeInstanceOf(AiRetryableError);
  });
});
