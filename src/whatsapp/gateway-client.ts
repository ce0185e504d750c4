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
import { sendHttpRequest, type HttpAnswer } from '../lib/http-request.js';

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

// A header value sent as is: visible ASCII, inner spaces allowed. Checked up front because
// Node's own "invalid header value" error may quote the value, which would put the secret in a log.
const HEADER_SAFE = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;

export function createGatewayClient(options: GatewayClientOptions): GatewayClient {
  const sendUrl = new URL(joinUrl(options.baseUrl, 'send'));
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

      let answer: HttpAnswer;
      try {
        // node:http, not fetch: about a fifth of fetch's CPU per send (src/lib/http-request.ts). It never follows
        // a redirect, which would forward the secret to wherever it points: a redirect is treated as
        // a configuration error below.
        answer = await sendHttpRequest(sendUrl, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-internal-secret': secret,
            'idempotency-key': request.idempotencyKey,
          },
          body,
          signal,
          maxBodyBytes: MAX_BODY_BYTES,
        });
      } catch (error) {
        throw new GatewayRetryableError(redact(describeTransportFailure(error, timeoutMs)));
      }

      const { status } = answer;
      const text = answer.body.toString('utf8');
      if (status >= 200 && status < 300) {
        const parsed = parseJson(text);
        if (!sendAnswerCheck.Check(parsed)) throw new GatewayRetryableError('Gateway answered 2xx without a messageId', status);
        return { messageId: parsed.messageId };
      }

      // The status decides; the text only explains it.
      const detail = redact(errorText(text));
      const suffix = detail ? `: ${detail}` : '';
      if (status === 408 || status === 429 || status >= 500) {
        throw new GatewayRetryableError(`Gateway answered ${status}${suffix}`, status);
      }
      if (status >= 400) throw new GatewayPermanentError(`Gateway rejected the send with ${status}${suffix}`, status);
      // Only a redirect is left (1xx never reach us): the same URL would redirect again.
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
  const name = typeof error === 'object' && error !== null && 'name' in error ? error.name : undefined;
  // The deadline aborts with its TimeoutError; AbortError covers any other abort.
  if (name === 'TimeoutError' || name === 'AbortError') return `Gateway did not answer within ${timeoutMs} ms`;
  return `Gateway unreachable: ${networkDetail(error)}`;
}

/** Node's own text (`connect ECONNREFUSED 127.0.0.1:4000`), or the code when there is none. */
function networkDetail(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (error.message) return error.message;
  const code = (error as Error & { code?: unknown }).code;
  return typeof code === 'string' ? code : error.name;
}
