/**
 * The HTTP client for the gateway's outbound contract (DESIGN.md "Outbound contract"). It turns every
 * way a send can end into one of three outcomes, so a job knows whether to retry:
 * - `{ messageId }`: the gateway accepted the send;
 * - `GatewayPermanentError`: the gateway refused it (a 4xx other than 408/429, or a redirect, which
 *   means GATEWAY_URL is wrong); retrying cannot help;
 * - `GatewayRetryableError`: 408, 429, 5xx, a timeout, the gateway unreachable, or a 2xx we cannot
 *   read. Retrying is safe because every send carries its idempotency key.
 * No message ever carries the secret: it only travels in the `x-internal-secret` header.
 */
import { Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import {
  GatewayPermanentError,
  GatewayRetryableError,
  type GatewayClient,
  type SendResult,
  type SendTextRequest,
} from './gateway.types.js';
import { startDeadline } from '../lib/deadline.js';

export interface GatewayClientOptions {
  /** GATEWAY_URL; `/send` is appended to it (a trailing slash is fine). */
  baseUrl: string;
  /** GATEWAY_SECRET, sent as `x-internal-secret`. */
  secret: string;
  /** Deadline for the whole exchange, answer body included. */
  timeoutMs: number;
}

/** How much of the gateway's error text goes into an error message (and so into job failure reasons). */
export const MAX_ERROR_TEXT = 500;

/**
 * The most we read of any answer. A real answer is a few dozen bytes; the cap keeps a misbehaving
 * gateway from making a worker buffer megabytes of HTML for an error message.
 */
const MAX_BODY_BYTES = 64 * 1024;

// Extra fields are allowed so the gateway can add to its answer without breaking us.
const SendAnswer = Type.Object({ messageId: Type.String({ minLength: 1 }) }, { additionalProperties: true });
// Compiled once at load, not per send.
const sendAnswerCheck = TypeCompiler.Compile(SendAnswer);

// A header value fetch accepts as is: visible ASCII, inner spaces allowed. Checked up front because
// undici's own "invalid header value" error quotes the value, which would put the secret in a log.
const HEADER_SAFE = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;

export function createGatewayClient(options: GatewayClientOptions): GatewayClient {
  const sendUrl = joinUrl(options.baseUrl, 'send');
  const { secret, timeoutMs } = options;
  if (!HEADER_SAFE.test(secret)) throw new TypeError('The gateway secret must be non-empty printable ASCII');
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new TypeError(`The gateway timeout must be a positive number of ms, got ${timeoutMs}`);

  const redact = (text: string): string => text.split(secret).join('[redacted]');

  return {
    async sendText(request: SendTextRequest): Promise<SendResult> {
      // One deadline for connect, answer and body: a hung gateway costs at most timeoutMs.
      const deadline = startDeadline(timeoutMs);
      try {
        return await send(request, deadline.signal);
      } finally {
        deadline.clear();
      }
    },
  };

  async function send(request: SendTextRequest, signal: AbortSignal): Promise<SendResult> {
      // A bad key is a bug in the caller, not a gateway fault: it fails before anything is sent.
      if (!HEADER_SAFE.test(request.idempotencyKey)) throw new TypeError('The idempotency key must be non-empty printable ASCII');
      const body = JSON.stringify({
        tenantId: request.tenantId,
        to: request.to,
        type: 'text',
        text: request.text,
        idempotencyKey: request.idempotencyKey,
        ...(request.quotedMessageId ? { quotedMessageId: request.quotedMessageId } : {}),
      });

      let response: Response;
      try {
        response = await fetch(sendUrl, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-internal-secret': secret,
            'idempotency-key': request.idempotencyKey,
          },
          body,
          // Following a redirect would forward the secret to wherever it points (fetch strips only
          // standard credentials across origins); a redirect is treated as a configuration error.
          redirect: 'manual',
          signal,
        });
      } catch (error) {
        throw new GatewayRetryableError(redact(describeTransportFailure(error, timeoutMs)));
      }

      const { status } = response;
      if (status >= 200 && status < 300) {
        let text: string;
        try {
          text = await readBodyText(response);
        } catch (error) {
          throw new GatewayRetryableError(redact(describeTransportFailure(error, timeoutMs)), status);
        }
        const answer = parseJson(text);
        if (!sendAnswerCheck.Check(answer)) throw new GatewayRetryableError('Gateway answered 2xx without a messageId', status);
        return { messageId: answer.messageId };
      }

      // The status decides; the text is only there to explain it, so failing to read it is no reason
      // to change the outcome.
      const detail = redact(errorText(await readBodyText(response).catch(() => '')));
      const suffix = detail ? `: ${detail}` : '';
      if (status === 408 || status === 429 || status >= 500) {
        throw new GatewayRetryableError(`Gateway answered ${status}${suffix}`, status);
      }
      if (status >= 400) throw new GatewayPermanentError(`Gateway rejected the send with ${status}${suffix}`, status);
      // Only a redirect is left (fetch never surfaces 1xx): the same URL would redirect again.
      throw new GatewayPermanentError(`Gateway redirected with ${status}; check GATEWAY_URL${suffix}`, status);
  }
}

/** `base` + `/path` with exactly one slash between them, keeping any path `base` already has. */
function joinUrl(base: string, path: string): string {
  const url = new URL(base);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`The gateway URL must be http(s), got ${url.protocol}`);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/${path}`;
  return url.toString();
}

/**
 * Reads at most MAX_BODY_BYTES of the answer and cancels the rest, so the connection is always
 * released (an unread body pins its socket until garbage collection).
 */
async function readBodyText(response: Response): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let bytes = 0;
  let isDone = false;
  try {
    while (bytes < MAX_BODY_BYTES) {
      const chunk = await reader.read();
      if (chunk.done) {
        isDone = true;
        break;
      }
      const value = chunk.value.subarray(0, MAX_BODY_BYTES - bytes);
      bytes += value.byteLength;
      text += decoder.decode(value, { stream: true });
    }
    return text + decoder.decode();
  } finally {
    if (!isDone) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The gateway's error text on one line, cut to MAX_ERROR_TEXT characters. */
function errorText(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > MAX_ERROR_TEXT ? `${line.slice(0, MAX_ERROR_TEXT)}…` : line;
}

function describeTransportFailure(error: unknown, timeoutMs: number): string {
  // fetch rejects with a DOMException, which is not an Error subclass in every Node version.
  const name = typeof error === 'object' && error !== null && 'name' in error ? error.name : undefined;
  // The deadline aborts with a TimeoutError; AbortError covers runtimes that report it so.
  if (name === 'TimeoutError' || name === 'AbortError') return `Gateway did not answer within ${timeoutMs} ms`;
  return `Gateway unreachable: ${networkDetail(error)}`;
}

/**
 * undici reports every network failure as `TypeError: fetch failed` and puts the useful part
 * (`connect ECONNREFUSED 127.0.0.1:4000`, `other side closed`) in `cause`; an AggregateError cause
 * (one failure per resolved address) has an empty message but a `code`.
 */
function networkDetail(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause;
  if (cause instanceof Error) {
    if (cause.message) return cause.message;
    const code = (cause as Error & { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return error.message;
}
