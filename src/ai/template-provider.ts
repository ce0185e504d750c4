/**
 * The `template` provider: offline and deterministic, so the embedded default answers with no network
 * and no key, and the same conversation always gives the same reply and summary.
 */
import type { ChatTurn, ReplyGenerator, ReplyRequest, SummaryRequest } from './reply-generator.js';

/** How much of the conversation a summary keeps: bounded, so it can be stored and re-sent forever. */
export const TEMPLATE_SUMMARY_LIMITS = { turns: 5, lineChars: 200, totalChars: 2000 } as const;

const PLACEHOLDER = /\{(name|message)\}/g;

export function createTemplateProvider(): ReplyGenerator {
  return {
    name: 'template',

    reply(request: ReplyRequest): Promise<string> {
      const name = request.customerName?.trim() || 'there';
      const message = lastCustomerMessage(request.history);
      // One pass, so a customer name containing "{message}" is not substituted a second time.
      const text = request.template.replace(PLACEHOLDER, (_match, key: string) => (key === 'name' ? name : message));
      return Promise.resolve(text.trim());
    },

    summarize(request: SummaryRequest): Promise<string> {
      return Promise.resolve(templateSummary(request));
    },
  };
}

function lastCustomerMessage(history: ChatTurn[]): string {
  for (let i = history.length - 1; i >= 0; i--) {
    const turn = history[i];
    if (turn?.role === 'user') return turn.content.trim();
  }
  return '';
}

/**
 * The previous summary followed by the last turns, one `Customer: …` / `Business: …` line each. When
 * the whole exceeds the limit, the oldest text of the previous summary goes first: the newest turns
 * matter most, and repeated summaries become a rolling window instead of growing.
 */
function templateSummary(request: SummaryRequest): string {
  const { turns, lineChars, totalChars } = TEMPLATE_SUMMARY_LIMITS;
  const lines = request.history
    .slice(-turns)
    .map((turn) => truncateEnd(`${turn.role === 'user' ? 'Customer' : 'Business'}: ${oneLine(turn.content)}`, lineChars))
    .join('\n');
  const previous = request.previousSummary?.trim() ?? '';
  if (!previous) return lines;
  if (!lines) return truncateStart(previous, totalChars);
  // `lines` is at most turns × (lineChars + 1) characters, well inside the total.
  const budget = totalChars - lines.length - 1;
  return `${truncateStart(previous, budget)}\n${lines}`;
}

/** Line breaks inside a message would read as new transcript lines. */
function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

// Lengths count UTF-16 units, and a cut never splits a surrogate pair: WhatsApp text is full of emoji,
// and half of one is not valid text to store or send.
function truncateEnd(text: string, max: number): string {
  if (text.length <= max) return text;
  const kept = text.slice(0, max - 1);
  return `${/[\uD800-\uDBFF]$/.test(kept) ? kept.slice(0, -1) : kept}…`;
}

function truncateStart(text: string, max: number): string {
  if (text.length <= max) return text;
  const kept = text.slice(text.length - (max - 1));
  return `…${/^[\uDC00-\uDFFF]/.test(kept) ? kept.slice(1) : kept}`;
}
