/**
 * The e2e bench's load generator: one HTTP/1.1 keep-alive connection that posts one request at a time,
 * written as one pre-built buffer and read back by content length.
 *
 * Why not `node:http`: its client cost the bench about 0.37 ms of CPU per webhook, more than the API
 * spent answering it (0.22 ms), and the load generator shares the machine's two cores with the
 * pipeline it measures. autocannon (the ingest bench's load) is lean the same way, but the e2e bench
 * needs to know which request carried which messages and how each was answered. This client is only
 * for servers we run (Switchboard answers every request with a Content-Length), so it does not
 * implement chunked answers: it fails the request instead.
 */
import { connect, type Socket } from 'node:net';

export interface RawAnswer {
  status: number;
  text: string;
}

const HEADER_END = Buffer.from('\r\n\r\n');
const CONTENT_LENGTH = /^content-length:\s*(\d+)\s*$/im;
const STATUS_LINE = /^HTTP\/1\.[01] (\d{3})/;

interface Pending {
  resolve(answer: RawAnswer): void;
  reject(error: Error): void;
}

export class KeepAliveClient {
  private socket: Socket | undefined;
  private connected: Promise<void> | undefined;
  private buffer: Buffer = Buffer.alloc(0);
  private pending: Pending | undefined;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly timeoutMs: number,
  ) {}

  /** Posts `body` to `path` with `headers` (Host, Content-Length and keep-alive are added). */
  async post(path: string, headers: Readonly<Record<string, string>>, body: string): Promise<RawAnswer> {
    if (this.pending) throw new Error('KeepAliveClient: one request at a time');
    await this.connect();
    const head =
      `POST ${path} HTTP/1.1\r\nhost: ${this.host}:${this.port}\r\nconnection: keep-alive\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\n` +
      Object.entries(headers)
        .map(([name, value]) => `${name}: ${value}\r\n`)
        .join('') +
      '\r\n';
    return new Promise<RawAnswer>((resolve, reject) => {
      this.pending = { resolve, reject };
      this.socket?.write(head + body);
    });
  }

  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
    this.connected = undefined;
  }

  private connect(): Promise<void> {
    if (this.connected) return this.connected;
    this.buffer = Buffer.alloc(0);
    const socket = connect({ host: this.host, port: this.port, noDelay: true });
    socket.setTimeout(this.timeoutMs, () => socket.destroy(new Error(`request timed out after ${this.timeoutMs} ms`)));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => this.fail(error));
    socket.on('close', () => this.fail(new Error('the server closed the connection')));
    this.socket = socket;
    this.connected = new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return this.connected;
  }

  private fail(error: Error): void {
    this.socket = undefined;
    this.connected = undefined;
    const pending = this.pending;
    this.pending = undefined;
    pending?.reject(error);
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const headerEnd = this.buffer.indexOf(HEADER_END);
    if (headerEnd < 0) return;
    const head = this.buffer.toString('latin1', 0, headerEnd);
    const status = STATUS_LINE.exec(head)?.[1];
    const length = CONTENT_LENGTH.exec(head)?.[1];
    if (status === undefined || length === undefined) {
      this.socket?.destroy(new Error(`unreadable answer (no status or Content-Length): ${head.slice(0, 200)}`));
      return;
    }
    const bodyStart = headerEnd + HEADER_END.length;
    const bodyEnd = bodyStart + Number(length);
    if (this.buffer.length < bodyEnd) return;
    const text = this.buffer.toString('utf8', bodyStart, bodyEnd);
    this.buffer = this.buffer.subarray(bodyEnd);
    const pending = this.pending;
    this.pending = undefined;
    pending?.resolve({ status: Number(status), text });
  }
}
