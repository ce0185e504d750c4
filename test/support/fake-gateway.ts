/**
 * A local stand-in for the WhatsApp gateway's outbound side (DESIGN.md "Outbound contract"): a real
 * HTTP server on 127.0.0.1 that answers `POST /send` as the gateway does, honours `Idempotency-Key`,
 * records every send, and lets a test inject the gateway's faults for real: error statuses, answers
 * held back (to SIGKILL a worker after the gateway accepted its send), the gateway down.
 *
 * Anything the contract does not allow (another path, a malformed body, a wrong secret, a key reused
 * for a different message) lands in `unexpected`; `assertNoUnexpected()` turns that into a failure.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';

/** The body of `POST /send`, exactly as the contract defines it. */
export interface SendBody {
  tenantId: string;
  to: string;
  type: 'text';
  text: string;
  idempotencyKey: string;
  quotedMessageId?: string;
}

export interface RecordedSend {
  body: SendBody;
  /** The `Idempotency-Key` header (checked to equal `body.idempotencyKey`). */
  idempotencyKey: string;
  /** Epoch ms at which the whole request had arrived. */
  receivedAt: number;
  /** The request headers, names lower-cased. */
  headers: Readonly<Record<string, string>>;
  /** The status the fake answers (or will answer, once released, when requests are held). */
  status: number;
  /** The messageId answered, when the answer is a success. */
  messageId?: string;
}

interface Answer {
  status: number;
  /** A string is sent as text/plain, anything else as JSON. */
  body: unknown;
}

// `additionalProperties: false`: the contract's body is exact, so an extra field is a finding.
const SendBodySchema = Type.Object(
  {
    tenantId: Type.String({ minLength: 1 }),
    to: Type.String({ minLength: 1 }),
    type: Type.Literal('text'),
    text: Type.String(),
    idempotencyKey: Type.String({ minLength: 1 }),
    quotedMessageId: Type.Optional(Type.String({ minLength: 1 })),
  },
  { additionalProperties: false },
);
const sendBodyCheck = TypeCompiler.Compile(SendBodySchema);

const MAX_BODY_BYTES = 1024 * 1024;

/** A WhatsApp Web message id as Baileys generates them: `3EB0` and 16 uppercase hex digits. */
function newMessageId(): string {
  return `3EB0${randomBytes(8).toString('hex').toUpperCase()}`;
}

export class FakeGateway {
  /** Every POST /send with a well-formed body, in arrival order, whatever it was answered. */
  readonly sends: RecordedSend[] = [];
  /** One line per request the contract does not allow. */
  readonly unexpected: string[] = [];

  private server: Server | null = null;
  private port = 0;
  private readonly sockets = new Set<Socket>();
  private readonly messageIds = new Map<string, string>();
  private readonly firstBodies = new Map<string, SendBody>();
  private readonly failures: Answer[] = [];
  private readonly listeners = new Set<(send: RecordedSend) => void>();
  private isHolding = false;
  private held: Array<{ response: ServerResponse; answer: Answer }> = [];

  private constructor(private readonly secret: string | undefined) {}

  static async start(options: { secret?: string } = {}): Promise<FakeGateway> {
    const gateway = new FakeGateway(options.secret);
    await gateway.up();
    return gateway;
  }

  /** The base URL to configure as GATEWAY_URL. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The distinct idempotency keys received, in order of first arrival. */
  distinctIdempotencyKeys(): string[] {
    return [...new Set(this.sends.map((send) => send.idempotencyKey))];
  }

  /**
   * Answers `status` (with `body`, default a JSON error) to the next `count` sends; they are still
   * recorded. Any status works: `failNext(1, 200, { ok: true })` is a 2xx without a messageId.
   */
  failNext(count: number, status: number, body?: unknown): void {
    const answer = { status, body: body ?? { error: 'injected_failure', message: `Injected failure ${status}` } };
    for (let i = 0; i < count; i += 1) this.failures.push(answer);
  }

  /** From now on, sends are recorded at once but answered only on `releaseRequests()`. */
  holdRequests(): void {
    this.isHolding = true;
  }

  /** Answers every held send (whose client is still there) and stops holding. */
  releaseRequests(): void {
    this.isHolding = false;
    const held = this.held;
    this.held = [];
    for (const { response, answer } of held) respond(response, answer);
  }

  /** Calls `callback` with each send as it is recorded; returns the unsubscribe function. */
  onSend(callback: (send: RecordedSend) => void): () => void {
    this.listeners.add(callback);
    return () => this.listeners.delete(callback);
  }

  /** Resolves with the sends once at least `count` were recorded. */
  waitForSends(count: number, timeoutMs = 15_000): Promise<RecordedSend[]> {
    if (this.sends.length >= count) return Promise.resolve([...this.sends]);
    return new Promise((resolve, reject) => {
      const off = this.onSend(() => {
        if (this.sends.length < count) return;
        clearTimeout(timer);
        off();
        resolve([...this.sends]);
      });
      const timer = setTimeout(() => {
        off();
        reject(new Error(`Timed out after ${timeoutMs} ms waiting for ${count} sends to the fake gateway; got ${this.sends.length}`));
      }, timeoutMs);
    });
  }

  /** Stops listening and drops every connection (held requests included): the gateway is down. */
  async down(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    this.held = [];
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  /** Listens again on the same port (a fresh port the first time). */
  async up(): Promise<void> {
    if (this.server) return;
    const server = createServer((request, response) => {
      void this.handle(request, response).catch((error: unknown) => {
        this.unexpected.push(`The fake gateway failed: ${error instanceof Error ? error.message : String(error)}`);
        if (!response.headersSent) respond(response, { status: 500, body: { error: 'fake_gateway_failed' } });
      });
    });
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address();
    if (typeof address === 'object' && address) this.port = address.port;
    this.server = server;
  }

  async close(): Promise<void> {
    this.listeners.clear();
    await this.down();
  }

  /** Returns what was unexpected so far and forgets it (for tests that provoke it on purpose). */
  takeUnexpected(): string[] {
    return this.unexpected.splice(0);
  }

  assertNoUnexpected(): void {
    if (this.unexpected.length > 0) {
      throw new Error(`The fake gateway received unexpected requests:\n- ${this.unexpected.join('\n- ')}`);
    }
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const what = `${request.method ?? '?'} ${request.url ?? '?'}`;
    if (request.method !== 'POST' || request.url !== '/send') {
      request.resume();
      this.unexpected.push(`${what}: unknown path or method`);
      respond(response, { status: 404, body: { error: 'not_found' } });
      return;
    }

    const read = await readBody(request);
    // The client went away mid-request (a killed worker): nothing arrived, nothing to answer.
    if (read.problem === 'aborted') return;
    if (read.problem === 'too_large') {
      this.unexpected.push(`${what}: body over ${MAX_BODY_BYTES} bytes`);
      respond(response, { status: 413, body: { error: 'payload_too_large' } });
      return;
    }
    const raw = read.text;
    const body = parseJson(raw);
    if (!sendBodyCheck.Check(body)) {
      const problem =
        body === undefined ? 'not JSON' : [...sendBodyCheck.Errors(body)].map((e) => `${e.path || '/'} ${e.message}`).join('; ');
      this.unexpected.push(`${what}: body does not match the contract (${problem}): ${raw.slice(0, 200)}`);
      respond(response, { status: 400, body: { error: 'bad_request', message: problem } });
      return;
    }
    const idempotencyKey = header(request, 'idempotency-key');
    if (idempotencyKey !== body.idempotencyKey) {
      this.unexpected.push(`${what}: Idempotency-Key header ${JSON.stringify(idempotencyKey)} differs from the body's ${JSON.stringify(body.idempotencyKey)}`);
      respond(response, { status: 400, body: { error: 'bad_request', message: 'Idempotency-Key header missing or different from the body' } });
      return;
    }

    const answer = this.decide(body, header(request, 'x-internal-secret'));
    const send: RecordedSend = {
      body,
      idempotencyKey,
      receivedAt: Date.now(),
      headers: flattenHeaders(request),
      status: answer.status,
      ...(isMessageAnswer(answer) ? { messageId: answer.body.messageId } : {}),
    };
    this.sends.push(send);
    for (const listener of [...this.listeners]) {
      try {
        listener(send);
      } catch (error) {
        this.unexpected.push(`An onSend callback threw: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    if (this.isHolding) this.held.push({ response, answer });
    else respond(response, answer);
  }

  /** What the gateway answers this send: the secret first, then injected failures, then success. */
  private decide(body: SendBody, secret: string | undefined): Answer {
    const key = body.idempotencyKey;
    const first = this.firstBodies.get(key);
    if (!first) this.firstBodies.set(key, body);
    else if (!isSameMessage(first, body)) this.unexpected.push(`Idempotency-Key ${key} reused for a different message`);

    if (this.secret !== undefined && secret !== this.secret) {
      this.unexpected.push(`POST /send with a ${secret === undefined ? 'missing' : 'wrong'} X-Internal-Secret`);
      return { status: 401, body: { error: 'unauthorized' } };
    }
    const failure = this.failures.shift();
    if (failure) return failure;
    // Honouring the key is the gateway's half of "effectively once": a retried send is not sent again.
    let messageId = this.messageIds.get(key);
    if (!messageId) {
      messageId = newMessageId();
      this.messageIds.set(key, messageId);
    }
    return { status: 200, body: { messageId } };
  }
}

function isMessageAnswer(answer: Answer): answer is { status: number; body: { messageId: string } } {
  const body = answer.body;
  return answer.status >= 200 && answer.status < 300 && typeof body === 'object' && body !== null && 'messageId' in body && typeof body.messageId === 'string';
}

function isSameMessage(a: SendBody, b: SendBody): boolean {
  return a.tenantId === b.tenantId && a.to === b.to && a.text === b.text && a.quotedMessageId === b.quotedMessageId;
}

function respond(response: ServerResponse, answer: Answer): void {
  // A held request whose client gave up (timeout, SIGKILL) has nobody left to answer.
  if (response.destroyed || response.writableEnded) return;
  const isText = typeof answer.body === 'string';
  const payload = isText ? String(answer.body) : JSON.stringify(answer.body);
  response.writeHead(answer.status, { 'content-type': isText ? 'text/plain; charset=utf-8' : 'application/json' });
  response.end(payload);
}

type ReadResult = { problem: null; text: string } | { problem: 'aborted' } | { problem: 'too_large' };

async function readBody(request: IncomingMessage): Promise<ReadResult> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of request) {
      const buffer = chunk as Buffer;
      size += buffer.length;
      if (size > MAX_BODY_BYTES) return { problem: 'too_large' };
      chunks.push(buffer);
    }
  } catch {
    return { problem: 'aborted' };
  }
  return { problem: null, text: Buffer.concat(chunks).toString('utf8') };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

function flattenHeaders(request: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}
