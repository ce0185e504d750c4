/**
 * What the jobs ask of an AI provider: a reply to a conversation, or a summary of one. Two providers
 * implement it: `openai` (any OpenAI-compatible Chat Completions server, through the official
 * package) and `template` (offline: answers from the tenant's template, so the embedded default runs
 * with no network).
 *
 * Providers throw `AiPermanentError` when retrying cannot help (bad request, bad key, unknown model)
 * and `AiRetryableError` for everything else (429, 5xx, timeouts, network); the jobs map them onto
 * the queue's retry policy.
 */

export interface ChatTurn {
  role: 'user' | 'assistant';
  content: string;
}

export interface ReplyRequest {
  tenantId: string;
  /** The tenant's system prompt. */
  systemPrompt: string;
  /** The conversation summary so far, when there is one: given to the model as context. */
  summary: string | null;
  /** The recent conversation, oldest first; ends with the customer's message(s) to answer. */
  history: ChatTurn[];
  /** The tenant's offline reply template (used by the `template` provider only). */
  template: string;
  /** The customer's WhatsApp display name, when known (for templates). */
  customerName: string | null;
}

export interface SummaryRequest {
  tenantId: string;
  previousSummary: string | null;
  history: ChatTurn[];
}

export interface ReplyGenerator {
  readonly name: 'openai' | 'template';
  /** The reply text, trimmed; '' when the model had nothing to say (the caller sends nothing). */
  reply(request: ReplyRequest): Promise<string>;
  summarize(request: SummaryRequest): Promise<string>;
  /**
   * Loads now what the first call would load (the `openai` package), so a worker's first reply after
   * a start is not slower than the rest. Nothing to do for providers that load nothing.
   */
  warmUp?(): Promise<void>;
}

export class AiPermanentError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'AiPermanentError';
  }
}

export class AiRetryableError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'AiRetryableError';
  }
}
