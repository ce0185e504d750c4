import { describe, expect, it } from 'vitest';
import { createReplyGenerator, DEFAULT_REPLY_TEMPLATE } from './index.js';
import type { ChatTurn, ReplyRequest, SummaryRequest } from './reply-generator.js';
import { createTemplateProvider, TEMPLATE_SUMMARY_LIMITS } from './template-provider.js';

const template = createTemplateProvider();

function replyRequest(overrides: Partial<ReplyRequest> = {}): ReplyRequest {
  return {
    tenantId: 'acme',
    systemPrompt: 'unused by this provider',
    summary: null,
    history: [{ role: 'user', content: 'Do you repair e-bikes?' }],
    template: DEFAULT_REPLY_TEMPLATE,
    customerName: 'Ana',
    ...overrides,
  };
}

function summaryRequest(history: ChatTurn[], previousSummary: string | null = null): SummaryRequest {
  return { tenantId: 'acme', previousSummary, history };
}

describe('template provider: reply', () => {
  it('fills {name} with the customer name', async () => {
    expect(await template.reply(replyRequest())).toBe(
      "Hi Ana, thanks for your message! We've received it and will get back to you shortly.",
    );
  });

  it.each([
    ['unknown', null],
    ['blank', '   '],
  ])('says "there" when the name is %s', async (_label, customerName) => {
    expect(await template.reply(replyRequest({ customerName }))).toMatch(/^Hi there, thanks/);
  });

  it("fills {message} with the customer's last message, not the business's, and trims", async () => {
    const text = await template.reply(
      replyRequest({
        template: '  {name}, you wrote: "{message}". {name}, we will answer soon.  ',
        history: [
          { role: 'user', content: 'First question' },
          { role: 'user', content: ' Second question ' },
          { role: 'assistant', content: 'An earlier answer' },
        ],
      }),
    );

    expect(text).toBe('Ana, you wrote: "Second question". Ana, we will answer soon.');
  });

  it('substitutes once: placeholders inside the substituted text stay as they are', async () => {
    const text = await template.reply(
      replyRequest({ template: 'Hi {name}: {message}', customerName: '{message}', history: [{ role: 'user', content: '{name}' }] }),
    );

    expect(text).toBe('Hi {message}: {name}');
  });

  it('leaves {message} empty when the customer has not written', async () => {
    expect(await template.reply(replyRequest({ template: 'Got: {message}', history: [] }))).toBe('Got:');
  });
});

describe('template provider: summarize', () => {
  const history: ChatTurn[] = [
    { role: 'user', content: 'Turn 1' },
    { role: 'assistant', content: 'Turn 2' },
    { role: 'user', content: 'Turn 3' },
    { role: 'assistant', content: 'Turn 4' },
    { role: 'user', content: 'Turn 5\nwith a second line' },
    { role: 'assistant', content: 'Turn 6' },
  ];

  it('is the previous summary and the last five turns, one line each, the same every time', async () => {
    const first = await template.summarize(summaryRequest(history, 'Ana owns a blue e-bike.'));
    const second = await template.summarize(summaryRequest(history, 'Ana owns a blue e-bike.'));

    expect(first).toBe(
      [
        'Ana owns a blue e-bike.',
        'Business: Turn 2',
        'Customer: Turn 3',
        'Business: Turn 4',
        'Customer: Turn 5 with a second line',
        'Business: Turn 6',
      ].join('\n'),
    );
    expect(second).toBe(first);
  });

  it('is only the turns without a previous summary, and only the previous summary without turns', async () => {
    expect(await template.summarize(summaryRequest([{ role: 'user', content: 'Hi' }]))).toBe('Customer: Hi');
    expect(await template.summarize(summaryRequest([], 'Ana owns a blue e-bike.'))).toBe('Ana owns a blue e-bike.');
  });

  it('truncates each line to 200 characters', async () => {
    const summary = await template.summarize(summaryRequest([{ role: 'user', content: 'x'.repeat(500) }]));

    expect(summary).toHaveLength(TEMPLATE_SUMMARY_LIMITS.lineChars);
    expect(summary).toMatch(/^Customer: x+…$/);
  });

  it('never splits an emoji when it truncates', async () => {
    const summary = await template.summarize(summaryRequest([{ role: 'user', content: '🚲'.repeat(200) }]));

    expect(summary.length).toBeLessThanOrEqual(TEMPLATE_SUMMARY_LIMITS.lineChars);
    expect(summary).toMatch(/^Customer: (🚲)+…$/u);
  });

  it('stays within 2,000 characters, dropping the oldest text of the previous summary first', async () => {
    const previous = `OLDEST ${'p'.repeat(5_000)} NEWEST`;
    const long: ChatTurn[] = Array.from({ length: 8 }, (_, i) => ({ role: 'user', content: `${i} ${'y'.repeat(300)}` }));

    const summary = await template.summarize(summaryRequest(long, previous));

    expect(summary).toHaveLength(TEMPLATE_SUMMARY_LIMITS.totalChars);
    expect(summary.startsWith('…')).toBe(true);
    expect(summary).not.toContain('OLDEST');
    const lines = summary.split('\n');
    expect(lines[0]).toMatch(/NEWEST$/);
    expect(lines.slice(1).map((line) => line.slice(0, 12))).toEqual([
      'Customer: 3 ',
      'Customer: 4 ',
      'Customer: 5 ',
      'Customer: 6 ',
      'Customer: 7 ',
    ]);
  });
});

describe('createReplyGenerator', () => {
  it('is the offline template provider without an API key', () => {
    expect(createReplyGenerator({ model: 'gpt-test', timeoutMs: 1_000 }).name).toBe('template');
    expect(createReplyGenerator({ apiKey: '', model: 'gpt-test', timeoutMs: 1_000 }).name).toBe('template');
  });

  it('is the openai provider with one', () => {
    expect(
      createReplyGenerator({ apiKey: 'sk-test', baseURL: 'http://127.0.0.1:9/v1', model: 'gpt-test', timeoutMs: 1_000 }).name,
    ).toBe('openai');
  });
});
