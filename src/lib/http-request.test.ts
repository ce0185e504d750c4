/**
 * The worker's HTTP transport against a real local server: bodies and headers on the wire, the body
 * cap, redirects left to the caller, and every way an exchange can end early (abort before or during
 * the body, a connection closed mid-body, a server that is down).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDeadline } from './deadline.js';
import { nodeFetch, sendHttpRequest } from './http-request.js';

/**
 * A self-signed certificate for 127.0.0.1 (valid until 2126), made for this test only: nothing trusts
 * it, which is the point.
 */
const SELF_SIGNED = {
  key: `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg9hP/MkcluYmoWXjb
ZTSKkF8818TiFr4vHszbIkl1vO2hRANCAARaQjoN0Vk2di3oBgKF+5H6bKHJQxXE
7nLeADyUHybvWJ+VQL0a/XWBWWomGHC8IUctqx7nYhtgEE0Kh1D7L/MB
-----END PRIVATE KEY-----`,
  cert: `-----BEGIN CERTIFICATE-----
MIIBnDCCAUGgAwIBAgIUZir+2rxh8v9ayiEpQr2g+3wUfhkwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTEzMDE0NDU1MloYDzIxMjYxMTA2
MTQ0NTUyWjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAARaQjoN0Vk2di3oBgKF+5H6bKHJQxXE7nLeADyUHybvWJ+VQL0a/XWB
WWomGHC8IUctqx7nYhtgEE0Kh1D7L/MBo28wbTAdBgNVHQ4EFgQUH7PI0cjAfbd3
ot01d+IzoSZCLHUwHwYDVR0jBBgwFoAUH7PI0cjAfbd3ot01d+IzoSZCLHUwDwYD
VR0TAQH/BAUwAwEB/zAaBgNVHREEEzARhwR/AAABgglsb2NhbGhvc3QwCgYIKoZI
zj0EAwIDSQAwRgIhAOygyGufjGlW6OloSGZYj4GoUQBCkg9lQNETAyuMLP6kAiEA
hmyM9P3zt7vF6hmYTfgxEYXT/aVDOqrpMO25Yedv2ks=
-----END CERTIFICATE-----`,
};

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

let server: Server;
let baseUrl: string;
let handler: Handler = (_req, _body, res) => res.end();

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => handler(req, Buffer.concat(chunks).toString('utf8'), res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function post(path: string, options: { signal?: AbortSignal; maxBodyBytes?: number } = {}) {
  return sendHttpRequest(new URL(path, baseUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-test': 'yes' },
    body: '{"hello":"wörld"}',
    signal: options.signal ?? new AbortController().signal,
    ...(options.maxBodyBytes === undefined ? {} : { maxBodyBytes: options.maxBodyBytes }),
  });
}

describe('sendHttpRequest', () => {
  it('sends the method, headers and body, and returns the status, headers and body', async () => {
    let seen: { method?: string; headers?: IncomingMessage['headers']; body?: string } = {};
    handler = (req, body, res) => {
      seen = { method: req.method, headers: req.headers, body };
      res.writeHead(201, 'Made', { 'x-answer': '42', 'content-type': 'text/plain' }).end('ünïcode answer');
    };

    const answer = await post('/things');

    expect(seen.method).toBe('POST');
    expect(seen.body).toBe('{"hello":"wörld"}');
    expect(seen.headers).toMatchObject({ 'content-type': 'application/json', 'x-test': 'yes', 'content-length': String(Buffer.byteLength('{"hello":"wörld"}')) });
    expect(answer.status).toBe(201);
    expect(answer.statusText).toBe('Made');
    expect(answer.rawHeaders).toEqual(expect.arrayContaining(['x-answer', '42']));
    expect(answer.body.toString('utf8')).toBe('ünïcode answer');
  });

  it('keeps at most maxBodyBytes of the body', async () => {
    handler = (_req, _body, res) => res.end('x'.repeat(100_000));

    const answer = await post('/big', { maxBodyBytes: 1000 });

    expect(answer.status).toBe(200);
    expect(answer.body.length).toBe(1000);
  });

  it('does not follow a redirect', async () => {
    handler = (_req, _body, res) => res.writeHead(307, { location: 'http://127.0.0.1:1/elsewhere' }).end();

    const answer = await post('/moved');

    expect(answer.status).toBe(307);
  });

  const silent: Handler = () => undefined;
  const stallsAfterHeaders: Handler = (_req, _body, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"partial":');
  };
  it.each([
    ['the server never answers', silent],
    ['the body stalls after the headers', stallsAfterHeaders],
  ])('rejects with the deadline when %s', async (_what, stalling) => {
    handler = stalling;
    const deadline = startDeadline(200);

    await expect(post('/stall', { signal: deadline.signal })).rejects.toMatchObject({ name: 'TimeoutError' });
    deadline.clear();
  });

  it('rejects when the server closes the connection mid-body', async () => {
    handler = (_req, _body, res) => {
      res.writeHead(200, { 'content-length': '1000' });
      res.write('only part of it');
      setTimeout(() => res.destroy(), 20);
    };

    await expect(post('/cut')).rejects.toThrow();
  });

  it('rejects at once with an already aborted signal, and with the network error when the server is down', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(post('/never', { signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });

    await expect(
      sendHttpRequest(new URL('http://127.0.0.1:1/down'), { method: 'GET', headers: {}, signal: new AbortController().signal }),
    ).rejects.toThrow(/ECONNREFUSED/);
  });
});

describe('https', () => {
  it('speaks TLS and verifies the certificate: a self-signed server is refused, and never sees the request', async () => {
    let requests = 0;
    const tls = createTlsServer(SELF_SIGNED, (_req, res) => {
      requests += 1;
      res.end('{}');
    });
    await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve));
    try {
      const url = new URL(`https://127.0.0.1:${(tls.address() as AddressInfo).port}/v1/chat/completions`);
      await expect(sendHttpRequest(url, { method: 'POST', headers: {}, body: '{}', signal: new AbortController().signal })).rejects.toMatchObject({
        code: 'DEPTH_ZERO_SELF_SIGNED_CERT',
      });
      expect(requests).toBe(0);
    } finally {
      tls.closeAllConnections();
      await new Promise<void>((resolve) => tls.close(() => resolve()));
    }
  });
});

describe('nodeFetch', () => {
  it('answers with a Response carrying the status, headers and body', async () => {
    handler = (req, body, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ echo: body, auth: req.headers['authorization'] }));

    const response = await nodeFetch(`${baseUrl}/v1/chat`, {
      method: 'POST',
      headers: new Headers({ authorization: 'Bearer k', 'content-type': 'application/json' }),
      body: '{"q":1}',
    });

    expect(response.status).toBe(200);
    expect(response.ok).toBe(true);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toEqual({ echo: '{"q":1}', auth: 'Bearer k' });
  });

  it('answers a 204 with no body, and refuses bodies it cannot send', async () => {
    handler = (_req, _body, res) => res.writeHead(204).end();
    const response = await nodeFetch(`${baseUrl}/empty`, { method: 'DELETE' });
    expect(response.status).toBe(204);
    expect(response.body).toBeNull();

    await expect(nodeFetch(`${baseUrl}/form`, { method: 'POST', body: new URLSearchParams({ a: '1' }) })).rejects.toThrow(TypeError);
  });
});
