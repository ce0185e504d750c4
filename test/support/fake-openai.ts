/**
 * A real local HTTP server that speaks OpenAI Chat Completions, for tests: it records every request,
 * answers like the real API, and can fail, stall, hang or go away on demand. Point the client at
 * `baseURL` (`${url}/v1`); `/chat/completions` without `/v1` is accepted too. Anything else is a 404
 * recorded in `unexpected`, which `assertNoUnexpected()` turns into a test failure.
 */
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface ChatMessage {
  role: string;
  content: string;
}

export interface ChatRequestBody {
  model: string;
  messages: ChatMessage[];
  /** Whatever else the client sent (temperature, max_tokens, …). */
  [key: string]: unknown;
}

export interface RecordedRequest {
  body: ChatRequestBody;
  headers: IncomingHttpHeaders;
  receivedAt: number;
}

/** Where a held request stops: before anything is sent, or after the status line and headers. */
export type HoldMode = 'before-headers' | 'after-headers';

interface Answer {
  status: number;
  /** Sent verbatim as `application/json`; it need not be valid JSON. */
  body: string;
}

interface Waiter {
  count: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

const COMPLETIONS_PATHS = new Set(['/v1/chat/completions', '/chat/completions']);

const defaultAnswer = (body: ChatRequestBody): string | null =>
  `Echo: ${[...body.messages].reverse().find((m) => m.role === 'user')?.content ?? ''}`;

export class FakeOpenAI {
  readonly requests: RecordedRequest[] = [];
  readonly unexpected: string[] = [];
  /** Delay before each answer (after any hold is released). */
  latencyMs = 0;

  private answer: (body: ChatRequestBody) => string | null = defaultAnswer;
  private raw: string | null = null;
  private readonly failures: Array<{ status: number; message: string | undefined }> = [];
  private holdMode: HoldMode | null = null;
  private readonly held = new Set<() => void>();
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly waiters: Waiter[] = [];
  private isListening = false;
  private completions = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(): Promise<FakeOpenAI> {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const fake = new FakeOpenAI(server, (server.address() as AddressInfo).port);
    fake.isListening = true;
    server.on('connection', (socket) => {
      fake.sockets.add(socket);
      socket.on('close', () => fake.sockets.delete(socket));
    });
    server.on('request', (req, res) => fake.handle(req, res));
    return fake;
  }

  /** Base URL without `/v1`. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** What to give the `openai` client as `baseURL`. */
  get baseURL(): string {
    return `${this.url}/v1`;
  }

  /** The assistant's content for each request; `null` answers `content: null`. Leaves raw mode. */
  answerWith(fn: (body: ChatRequestBody) => string | null): void {
    this.answer = fn;
    this.raw = null;
  }

  /** Answers 200 with exactly this body from now on (a string is sent verbatim, so it may be broken JSON). */
  answerRaw(body: unknown): void {
    this.raw = typeof body === 'string' ? body : JSON.stringify(body);
  }

  /** The next `count` requests get `status` with an OpenAI-style error body. Calls queue up. */
  failNext(count: number, status: number, message?: string): void {
    for (let i = 0; i < count; i++) this.failures.push({ status, message });
  }

  /** From now on requests are recorded at once but answered only on `releaseRequests()`. */
  holdRequests(mode: HoldMode = 'before-headers'): void {
    this.holdMode = mode;
  }

  /** Answers every held request (those whose client is still there) and stops holding. */
  releaseRequests(): void {
    this.holdMode = null;
    const held = [...this.held];
    this.held.clear();
    for (const finish of held) finish();
  }

  /** Resolves once `count` requests in total have been received (at once if they already have). */
  waitForRequests(count: number, timeoutMs = 10_000): Promise<RecordedRequest[]> {
    if (this.requests.length >= count) return Promise.resolve(this.requests.slice(0, count));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`FakeOpenAI: ${this.requests.length} of ${count} requests after ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter: Waiter = {
        count,
        resolve: () => {
          clearTimeout(timer);
          resolve(this.requests.slice(0, count));
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.waiters.push(waiter);
    });
  }

  /** Stops listening and drops every open connection, held ones included: "the AI server is down". */
  async down(): Promise<void> {
    if (!this.isListening) return;
    this.isListening = false;
    this.held.clear();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  /** Listens again on the same port. */
  async up(): Promise<void> {
    if (this.isListening) return;
    this.server.listen(this.port, '127.0.0.1');
    await once(this.server, 'listening');
    this.isListening = true;
  }

  /** Back to the defaults between tests: echo answers, no latency, no failures, no hold, no records. */
  reset(): void {
    this.releaseRequests();
    this.answer = defaultAnswer;
    this.raw = null;
    this.latencyMs = 0;
    this.failures.length = 0;
    this.requests.length = 0;
    this.unexpected.length = 0;
  }

  assertNoUnexpected(): void {
    if (this.unexpected.length > 0) {
      throw new Error(`FakeOpenAI received unexpected requests:\n${this.unexpected.join('\n')}`);
    }
  }

  async close(): Promise<void> {
    for (const waiter of this.waiters.splice(0)) waiter.reject(new Error('FakeOpenAI closed'));
    await this.down();
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '').split('?')[0] ?? '';
    const chunks: Buffer[] = [];
    // A client that gives up mid-request (its timeout, a killed worker) is an ordinary event here.
    req.on('error', () => undefined);
    res.on('error', () => undefined);
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method !== 'POST' || !COMPLETIONS_PATHS.has(path)) {
        this.unexpected.push(`${req.method ?? '?'} ${req.url ?? ''}`);
        this.send(res, { status: 404, body: errorBody(404, `Unknown path ${req.method ?? '?'} ${path}`) });
        return;
      }
      const body = parseChatBody(Buffer.concat(chunks).toString('utf8'));
      if (typeof body === 'string') {
        this.unexpected.push(`${req.method} ${req.url ?? ''}: ${body}`);
        this.send(res, { status: 400, body: errorBody(400, body) });
        return;
      }
      this.requests.push({ body, headers: req.headers, receivedAt: Date.now() });
      this.notifyWaiters();
      // Decided on arrival, so failNext(n) means the next n requests in arrival order.
      const answer = this.answerFor(body);
      const mode = this.holdMode;
      if (mode === 'after-headers') res.writeHead(answer.status, { 'content-type': 'application/json' }).flushHeaders();
      const finish = () => this.afterLatency(() => this.send(res, answer));
      if (mode) this.held.add(finish);
      else finish();
    });
  }

  private answerFor(body: ChatRequestBody): Answer {
    const failure = this.failures.shift();
    if (failure) return { status: failure.status, body: errorBody(failure.status, failure.message) };
    if (this.raw !== null) return { status: 200, body: this.raw };
    const content = this.answer(body);
    this.completions += 1;
    const promptTokens = estimateTokens(body.messages.map((m) => m.content).join(' '));
    const completionTokens = estimateTokens(content ?? '');
    return {
      status: 200,
      body: JSON.stringify({
        id: `chatcmpl-fake-${this.completions}`,
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model: body.model,
        choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
        usage: {
          prompt_tokens: promptTokens,
          completion_tokens: completionTokens,
          total_tokens: promptTokens + completionTokens,
        },
      }),
    };
  }

  private afterLatency(fn: () => void): void {
    if (this.latencyMs <= 0) return fn();
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, this.latencyMs);
    this.timers.add(timer);
  }

  private send(res: ServerResponse, answer: Answer): void {
    // The client may have timed out and gone, or the server was taken down meanwhile.
    if (res.destroyed || res.writableEnded) return;
    if (!res.headersSent) res.writeHead(answer.status, { 'content-type': 'application/json' });
    res.end(answer.body);
  }

  private notifyWaiters(): void {
    for (const waiter of [...this.waiters]) {
      if (this.requests.length >= waiter.count) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  }
}

/** The error body the real API sends, so the client's error classes see the same shape. */
function errorBody(status: number, message?: string): string {
  const [type, code, text] =
    status === 401 ? ['invalid_request_error', 'invalid_api_key', 'Incorrect API key provided.']
    : status === 403 ? ['permission_error', null, 'You are not allowed to use this model.']
    : status === 404 ? ['invalid_request_error', 'model_not_found', 'The model does not exist.']
    : status === 429 ? ['requests', 'rate_limit_exceeded', 'Rate limit reached. Please try again later.']
    : status >= 500 ? ['server_error', null, 'The server had an error while processing your request.']
    : ['invalid_request_error', null, 'Invalid request.'];
  return JSON.stringify({ error: { message: message ?? text, type, param: null, code } });
}

/** The body as `ChatRequestBody`, or what is wrong with it. */
function parseChatBody(text: string): ChatRequestBody | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return 'body is not JSON';
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return 'body is not an object';
  const record = parsed as Record<string, unknown>;
  if (typeof record['model'] !== 'string') return 'model is missing';
  const messages = record['messages'];
  if (!Array.isArray(messages) || !messages.every(isChatMessage)) return 'messages must be {role, content: string}[]';
  return { ...record, model: record['model'], messages };
}

function isChatMessage(value: unknown): value is ChatMessage {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return typeof record['role'] === 'string' && typeof record['content'] === 'string';
}

/** Roughly four characters a token: enough for clients that read `usage`. */
function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}
