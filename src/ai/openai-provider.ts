/**
 * The `openai` provider: every OpenAI-compatible Chat Completions server, through the official package.
 *
 * The model's answer is a boundary like a webhook body: it is validated with a schema before use, and
 * every failure leaves here as `AiPermanentError` (retrying cannot help) or `AiRetryableError` (the job
 * queue retries with backoff), never as the package's own error classes.
 */
import { Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { startDeadline } from '../lib/deadline.js';
import { nodeFetch } from '../lib/http-request.js';
import {
  AiPermanentError,
  AiRetryableError,
  type ChatTurn,
  type ReplyGenerator,
  type ReplyRequest,
  type SummaryRequest,
} from './reply-generator.js';

export interface OpenAiProviderOptions {
  apiKey: string;
  /** An OpenAI-compatible base URL (with its `/v1`); the official endpoint when absent. */
  baseURL?: string;
  model: string;
  /** Deadline for one whole request, connection to last byte of the body. */
  timeoutMs: number;
}

export const SUMMARY_INSTRUCTION =
  'Summarise this WhatsApp conversation between a business and its customer in at most 5 sentences: ' +
  'who the customer is, what they want, what was promised. Plain text.';

/**
 * Only what we read. `content` may be null (or absent, with tool calls) when the model has nothing to
 * say; that is a valid empty answer, not a malformed one.
 */
const ChatCompletionShape = TypeCompiler.Compile(
  Type.Object({
    choices: Type.Array(
      Type.Object({
        message: Type.Object({ content: Type.Optional(Type.Union([Type.String(), Type.Null()])) }),
      }),
      { minItems: 1 },
    ),
  }),
);

/** Statuses where the same request can never succeed: bad request, bad key, no access, unknown model. */
const PERMANENT_STATUSES = new Set([400, 401, 403, 404, 422]);

export function createOpenAiProvider(options: OpenAiProviderOptions): ReplyGenerator {
  const { apiKey, model, timeoutMs } = options;
  if (!apiKey) throw new Error('createOpenAiProvider: apiKey is required');
  // The package validates the timeout per request; a bad value would fail every job, forever, as a
  // retryable error. Fail at start-up instead.
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
    throw new Error(`createOpenAiProvider: timeoutMs must be a positive integer, got ${timeoutMs}`);
  }

  const client = new OpenAI({
    apiKey,
    // null, not undefined: undefined makes the package read OPENAI_BASE_URL / OPENAI_ORG_ID /
    // OPENAI_PROJECT_ID itself, and only src/config.ts reads the environment.
    baseURL: options.baseURL ?? null,
    organization: null,
    project: null,
    // Our job queue retries with exponential backoff and jitter, visibly per attempt; retrying here as
    // well would multiply the attempts and hide them inside one job run.
    maxRetries: 0,
    timeout: timeoutMs,
    // Pinned so that OPENAI_LOG cannot turn on the package's console request dumps beside our logs.
    logLevel: 'warn',
    // node:http keep-alive connections instead of the global fetch: a fraction of its CPU per call
    // (src/lib/http-request.ts). Redirects are not followed; toAiError says so.
    fetch: nodeFetch,
  });

  /** Redacts the key from anything we put in an error: a compatible server may echo it back. */
  const redact = (text: string): string => text.split(apiKey).join('[redacted]');

  async function complete(messages: ChatCompletionMessageParam[]): Promise<string> {
    // The package's `timeout` stops at the response headers; a server that sends headers and then
    // stalls the body would hang the job forever. This deadline covers the whole request.
    const deadline = startDeadline(timeoutMs);
    let response: unknown;
    try {
      response = await client.chat.completions.create({ model, messages }, { signal: deadline.signal });
    } catch (error) {
      throw toAiError(error, deadline.signal.aborted, timeoutMs, redact);
    } finally {
      deadline.clear();
    }
    if (!ChatCompletionShape.Check(response)) throw new AiRetryableError('Malformed AI response');
    return (response.choices[0]?.message.content ?? '').trim();
  }

  return {
    name: 'openai',

    reply(request: ReplyRequest): Promise<string> {
      const summary = request.summary?.trim();
      const system = request.systemPrompt + (summary ? `\n\nConversation so far (summary): ${summary}` : '');
      return complete([
        { role: 'system', content: system },
        ...request.history.map((turn) => ({ role: turn.role, content: turn.content })),
      ]);
    },

    async summarize(request: SummaryRequest): Promise<string> {
      const previous = request.previousSummary?.trim();
      // Nothing new to summarise: the previous summary stands, and no tokens are spent on it.
      if (request.history.length === 0) return previous ?? '';
      const system =
        SUMMARY_INSTRUCTION + (previous ? `\n\nPrevious summary (update it with the conversation): ${previous}` : '');
      return complete([
        { role: 'system', content: system },
        { role: 'user', content: transcript(request.history) },
      ]);
    },
  };
}

/** The conversation as one plain-text transcript: the model summarises it instead of continuing it. */
export function transcript(history: ChatTurn[]): string {
  return history.map((turn) => `${turn.role === 'user' ? 'Customer' : 'Business'}: ${turn.content}`).join('\n');
}

function toAiError(
  error: unknown,
  isPastDeadline: boolean,
  timeoutMs: number,
  redact: (text: string) => string,
): AiPermanentError | AiRetryableError {
  // An HTTP answer is classified by its status, even if it arrived just as the deadline passed.
  if (error instanceof APIError && typeof error.status === 'number' && error.status >= 300 && error.status < 400) {
    // Following it would send the key wherever it points; the same URL would redirect again.
    return new AiPermanentError(`AI provider redirected with ${error.status}; check OPENAI_BASE_URL`, error.status);
  }
  if (error instanceof APIError && typeof error.status === 'number') {
    const message = redact(`AI provider answered ${error.status}: ${providerMessage(error)}`);
    return PERMANENT_STATUSES.has(error.status)
      ? new AiPermanentError(message, error.status)
      : new AiRetryableError(message, error.status);
  }
  if (isPastDeadline || error instanceof APIConnectionTimeoutError) {
    return new AiRetryableError(`AI request timed out after ${timeoutMs} ms`);
  }
  if (error instanceof APIConnectionError) {
    return new AiRetryableError(redact(`AI provider unreachable: ${describe(error)}`));
  }
  // A body that is not JSON at all: a proxy's error page, a truncated answer.
  if (error instanceof SyntaxError) return new AiRetryableError('Malformed AI response (not JSON)');
  // The contract: whatever is not known to be permanent is retried, and fails visibly after the
  // job's attempts.
  return new AiRetryableError(redact(`AI request failed: ${describe(error)}`));
}

/** The server's own `error.message` when it sent an OpenAI-style error body, else the package's text. */
function providerMessage(error: APIError): string {
  const body: unknown = error.error;
  if (typeof body === 'object' && body !== null && 'message' in body && typeof body.message === 'string') {
    return body.message;
  }
  // The package's own text starts with the status, which our message already carries.
  return error.message.replace(/^\d{3} /, '');
}

/** The error and its cause (the package says only "Connection error."; the cause says ECONNREFUSED). */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause: unknown = error.cause;
  return cause instanceof Error && cause.message !== error.message ? `${error.message} (${describe(cause)})` : error.message;
}
