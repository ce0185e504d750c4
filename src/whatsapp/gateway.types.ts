/**
 * The outbound contract with the WhatsApp gateway (DESIGN.md "Outbound contract"):
 * `POST {GATEWAY_URL}/send` with `X-Internal-Secret` and `Idempotency-Key`, answered `2xx
 * {"messageId"}`. A 4xx other than 408/429 is permanent; 408, 429, 5xx, timeouts and network errors
 * are worth retrying.
 */

export interface SendTextRequest {
  tenantId: string;
  /** The chat's remoteJid exactly as received (a `@lid` jid stays `@lid`). */
  to: string;
  text: string;
  /** Derived from the outbox row that asked for the send; the gateway sends each key once. */
  idempotencyKey: string;
  quotedMessageId?: string;
}

export interface SendResult {
  /** The WhatsApp message id the gateway assigned. */
  messageId: string;
}

export interface GatewayClient {
  sendText(request: SendTextRequest): Promise<SendResult>;
}

export class GatewayPermanentError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'GatewayPermanentError';
  }
}

export class GatewayRetryableError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'GatewayRetryableError';
  }
}
