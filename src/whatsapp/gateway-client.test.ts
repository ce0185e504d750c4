/**
 * The gateway client against a real local HTTP server that speaks the gateway's protocol: what goes on
 * the wire, and how every kind of answer (or silence) becomes a result, a permanent or a retryable error.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeGateway } from '../../test/support/fake-gateway.js';
import { createGatewayClient } from './gateway-client.js';
import { GatewayPermanentError, GatewayRetryableError, type GatewayClient, type SendTextRequest } from './gateway.types.js';

const SECRET = 'gateway-secret-for-tests';
const LID_JID = '123456789012345@lid';

let gateway: FakeGateway;
let client: GatewayClient;

function request(overrides: Partial<SendTextRequest> = {}): SendTextRequest {
  return { tenantId: 'acme', to: LID_JID, text: 'Hello from Switchboard', idempotencyKey: 'reply:acme:42', ...overrides };
}

/** Awaits a failed send and checks what every failure must hold: its class, and no secret inside. */
async function failure<E extends Error>(promise: Promise<unknown>, type: new (...args: never[]) => E): Promise<E> {
  const error = await promise.then(
    () => expect.fail('the send should have failed'),
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(type);
  expect((error as Error).message).not.toContain(SECRET);
  return error as E;
}

beforeEach(async () => {
  gateway = await FakeGateway.start({ secret: SECRET });
  client = createGatewayClient({ baseUrl: gateway.url, secret: SECRET, timeoutMs: 2000 });
});

afterEach(async () => {
  gateway.releaseRequests();
  await gateway.close();
  gateway.assertNoUnexpected();
});

describe('gateway client: successful sends', () => {
  it('returns the messageId and sends the exact body and headers, the @lid jid untouched', async () => {
    const result = await client.sendText(request());

    expect(result.messageId).toMatch(/^3EB0[0-9A-F]{16}$/);
    expect(gateway.sends).toHaveLength(1);
    const [send] = gateway.sends;
    expect(send?.body).toStrictEqual({
      tenantId: 'acme',
      to: LID_JID,
      type: 'text',
      text: 'Hello from Switchboard',
      idempotencyKey: 'reply:acme:42',
    });
    expect(send?.headers).toMatchObject({
      'content-type': 'application/json',
      'x-internal-secret': SECRET,
      'idempotency-key': 'reply:acme:42',
    });
    expect(send?.messageId).toBe(result.messageId);
  });

  it('sends quotedMessageId when the reply quotes a message', async () => {
    await client.sendText(request({ quotedMessageId: '3EB0AAAABBBBCCCCDDDD' }));

    expect(gateway.sends[0]?.body).toStrictEqual({ ...request(), type: 'text', quotedMessageId: '3EB0AAAABBBBCCCCDDDD' });
  });

  it('gets the same messageId for the same idempotency key: the gateway sends it once', async () => {
    const first = await client.sendText(request());
    const second = await client.sendText(request());

    expect(second.messageId).toBe(first.messageId);
    expect(gateway.sends).toHaveLength(2);
    expect(gateway.distinctIdempotencyKeys()).toEqual(['reply:acme:42']);
  });

  it('joins a base URL with a trailing slash without a double slash', async () => {
    const slashed = createGatewayClient({ baseUrl: `${gateway.url}/`, secret: SECRET, timeoutMs: 2000 });

    await expect(slashed.sendText(request())).resolves.toEqual({ messageId: expect.stringMatching(/^3EB0/) });
  });

  it('accepts extra fields next to the messageId', async () => {
    gateway.failNext(1, 201, { messageId: 'WAMID-1', status: 'PENDING' });

    await expect(client.sendText(request())).resolves.toStrictEqual({ messageId: 'WAMID-1' });
  });
});

describe('gateway client: permanent failures', () => {
  it('a 400 fails permanently with the status and the gateway text', async () => {
    gateway.failNext(1, 400, { error: 'bad_request', message: 'invalid jid' });

    const error = await failure(client.sendText(request()), GatewayPermanentError);

    expect(error.status).toBe(400);
    expect(error.message).toContain('400');
    expect(error.message).toContain('invalid jid');
  });

  it('a 404 fails permanently', async () => {
    gateway.failNext(1, 404, 'no such tenant session');

    const error = await failure(client.sendText(request()), GatewayPermanentError);

    expect(error.status).toBe(404);
    expect(error.message).toContain('no such tenant session');
  });

  it('a wrong secret fails permanently with 401', async () => {
    const wrong = createGatewayClient({ baseUrl: gateway.url, secret: 'not-the-secret', timeoutMs: 2000 });

    const error = await failure(wrong.sendText(request()), GatewayPermanentError);

    expect(error.status).toBe(401);
    expect(error.message).not.toContain('not-the-secret');
    expect(gateway.takeUnexpected()).toEqual(['POST /send with a wrong X-Internal-Secret']);
  });

  it('a redirect fails permanently instead of following it with the secret', async () => {
    gateway.failNext(1, 307, '');

    const error = await failure(client.sendText(request()), GatewayPermanentError);

    expect(error.status).toBe(307);
    expect(gateway.sends).toHaveLength(1);
  });

  it('keeps the gateway text to 500 characters and never repeats the secret', async () => {
    gateway.failNext(1, 422, `rejected ${SECRET} ${'x'.repeat(2000)}`);

    const error = await failure(client.sendText(request()), GatewayPermanentError);

    expect(error.message).toContain('rejected [redacted]');
    expect(error.message.length).toBeLessThan(600);
  });
});

describe('gateway client: retryable failures', () => {
  it.each([408, 429, 500, 503])('a %i is retryable, with its status', async (status) => {
    gateway.failNext(1, status);

    const error = await failure(client.sendText(request()), GatewayRetryableError);

    expect(error.status).toBe(status);
    expect(error.message).toContain(`Injected failure ${status}`);
  });

  it('a hung gateway is retryable once the timeout passes', async () => {
    const impatient = createGatewayClient({ baseUrl: gateway.url, secret: SECRET, timeoutMs: 300 });
    gateway.holdRequests();
    const startedAt = Date.now();

    const sending = failure(impatient.sendText(request()), GatewayRetryableError);
    // The gateway accepted the send and only its answer is lost: the case the idempotency key is for.
    const [send] = await gateway.waitForSends(1, 1000);
    expect(send?.status).toBe(200);
    const error = await sending;

    expect(Date.now() - startedAt).toBeLessThan(1000);
    expect(error.message).toBe('Gateway did not answer within 300 ms');
  });

  it('a gateway that is down is retryable, and the next try succeeds once it is back', async () => {
    await gateway.down();

    const error = await failure(client.sendText(request()), GatewayRetryableError);
    expect(error.message).toMatch(/^Gateway unreachable: .*ECONNREFUSED/);
    expect(error.status).toBeUndefined();

    await gateway.up();
    await expect(client.sendText(request())).resolves.toEqual({ messageId: expect.stringMatching(/^3EB0/) });
  });

  it.each([
    ['a body without messageId', { ok: true }],
    ['an empty messageId', { messageId: '' }],
    ['a body that is not JSON', 'sent!'],
  ])('a 2xx with %s is retryable', async (_what, body) => {
    gateway.failNext(1, 200, body);

    const error = await failure(client.sendText(request()), GatewayRetryableError);

    expect(error.message).toBe('Gateway answered 2xx without a messageId');
    expect(error.status).toBe(200);
  });
});
