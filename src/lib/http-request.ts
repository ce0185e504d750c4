/**
 * Outbound HTTP for the worker (the gateway and the AI provider), over node:http(s) keep-alive
 * connections instead of `fetch`.
 *
 * Why: Node's `fetch` builds WHATWG requests, headers and streams around every call, and measured on
 * the CI machine it cost the client 0.4–0.5 ms of CPU per request against 0.05–0.1 ms for
 * `http.request` on a keep-alive agent. A reply makes two such calls (the AI, the gateway), and the
 * worker, one Node.js process, is the pipeline's bottleneck (docs/performance.md).
 *
 * Semantics kept from fetch: redirects are never followed (the caller sees the 3xx), the signal
 * aborts the whole exchange (connection, answer and body) with its reason, and network failures reject
 * with Node's own error (`connect ECONNREFUSED …`).
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

export interface HttpAnswer {
  status: number;
  statusText: string;
  /** Raw header pairs as received: name, value, name, value… */
  rawHeaders: string[];
  body: Buffer;
}

export interface HttpRequestOptions {
  method: string;
  headers: Readonly<Record<string, string>>;
  body?: string | Uint8Array;
  /** Aborts the request and rejects with the signal's reason (a deadline's TimeoutError). */
  signal: AbortSignal;
  /** The most of the answer's body kept; the rest is not read, and the connection is dropped. */
  maxBodyBytes?: number;
}

// One pool per process: connections to the gateway and the AI provider are reused across jobs.
const httpAgent = new HttpAgent({ keepAlive: true });
const httpsAgent = new HttpsAgent({ keepAlive: true });

function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  // A DOMException is an Error in Node 20+, but not every reason is one.
  const error = new Error('The request was aborted');
  error.name = 'AbortError';
  return error;
}

export function sendHttpRequest(url: URL, options: HttpRequestOptions): Promise<HttpAnswer> {
  const { signal, maxBodyBytes = Number.POSITIVE_INFINITY } = options;
  return new Promise<HttpAnswer>((resolve, reject) => {
    if (signal.aborted) {
      reject(abortReason(signal));
      return;
    }
    const isHttps = url.protocol === 'https:';
    const headers: Record<string, string | number> = { ...options.headers };
    if (options.body !== undefined) headers['content-length'] = Buffer.byteLength(options.body);
    let response: IncomingMessage | undefined;
    let isSettled = false;
    const settle = (outcome: () => void): void => {
      if (isSettled) return;
      isSettled = true;
      signal.removeEventListener('abort', onAbort);
      outcome();
    };
    const fail = (error: Error): void => settle(() => reject(error));

    const request = (isHttps ? httpsRequest : httpRequest)(
      url,
      { method: options.method, headers, agent: isHttps ? httpsAgent : httpAgent },
      (res) => {
        response = res;
        const chunks: Buffer[] = [];
        let bytes = 0;
        const finish = (): void =>
          settle(() =>
            resolve({ status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', rawHeaders: res.rawHeaders, body: Buffer.concat(chunks) }),
          );
        res.on('data', (chunk: Buffer) => {
          const room = maxBodyBytes - bytes;
          chunks.push(chunk.length > room ? chunk.subarray(0, room) : chunk);
          bytes += Math.min(chunk.length, room);
          if (bytes >= maxBodyBytes) {
            // Enough: the rest is not read, and the connection cannot be reused with it unread.
            finish();
            res.destroy();
          }
        });
        res.on('end', finish);
        res.on('error', fail);
        // A connection closed mid-body ends without 'end' and, on some Node versions, without 'error'.
        res.on('close', () => {
          if (!res.complete) fail(new Error('The server closed the connection before the answer was complete'));
        });
      },
    );
    function onAbort(): void {
      const error = abortReason(signal);
      fail(error);
      request.destroy(error);
      response?.destroy(error);
    }
    signal.addEventListener('abort', onAbort, { once: true });
    request.on('error', fail);
    request.end(options.body);
  });
}

/**
 * `sendHttpRequest` behind the `fetch` signature, for libraries that take a fetch implementation (the
 * `openai` package). The answer is read whole before it resolves, so the library's own timeout (which
 * stops at the headers with `fetch`) covers the body too. Only string and byte bodies are supported;
 * others reject with a TypeError.
 */
export async function nodeFetch(input: string | URL | Request, init: RequestInit = {}): Promise<Response> {
  if (input instanceof Request) throw new TypeError('nodeFetch takes a URL and an init object, not a Request');
  const { body } = init;
  if (body !== undefined && body !== null && typeof body !== 'string' && !(body instanceof Uint8Array)) {
    throw new TypeError('nodeFetch sends only string or byte bodies');
  }
  const headers: Record<string, string> = {};
  new Headers(init.headers).forEach((value, name) => {
    headers[name] = value;
  });
  const answer = await sendHttpRequest(new URL(input), {
    method: init.method ?? 'GET',
    headers,
    ...(body === undefined || body === null ? {} : { body }),
    signal: init.signal ?? new AbortController().signal,
  });
  const responseHeaders = new Headers();
  for (let i = 0; i + 1 < answer.rawHeaders.length; i += 2) {
    responseHeaders.append(answer.rawHeaders[i] ?? '', answer.rawHeaders[i + 1] ?? '');
  }
  const hasNoBody = answer.status === 204 || answer.status === 205 || answer.status === 304;
  return new Response(hasNoBody ? null : answer.body, { status: answer.status, statusText: answer.statusText, headers: responseHeaders });
}
