/**
 * Behind a reverse proxy (TRUST_PROXY): the console's sign-in throttle counts the client named in
 * X-Forwarded-For, and the session cookie is Secure when the browser used HTTPS (X-Forwarded-Proto).
 * Without it, or from an address that is not a trusted proxy, those headers change nothing: a client
 * cannot dodge the throttle by inventing them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_ADMIN_TOKEN } from './support/config.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { startHarness, type Harness } from './support/harness.js';
import { SHARED_REDIS_URL, deletePrefix, uniquePrefix } from './support/redis.js';

let db: TestDatabase;
let prefix: string;
let behindProxy: Harness;
let direct: Harness;

const PROXY = '10.1.2.3';

function signIn(harness: Harness, token: string, options: { remoteAddress: string; forwardedFor?: string; forwardedProto?: string }) {
  return harness.app.inject({
    method: 'POST',
    url: '/admin/login',
    remoteAddress: options.remoteAddress,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(options.forwardedFor ? { 'x-forwarded-for': options.forwardedFor } : {}),
      ...(options.forwardedProto ? { 'x-forwarded-proto': options.forwardedProto } : {}),
    },
    payload: new URLSearchParams({ token }).toString(),
  });
}

beforeAll(async () => {
  db = await createTestDatabase();
  prefix = uniquePrefix();
  behindProxy = await startHarness({ databaseUrl: db.url, redisUrl: SHARED_REDIS_URL, prefix, env: { TRUST_PROXY: '10.0.0.0/8' } });
  direct = await startHarness({ databaseUrl: db.url, redisUrl: SHARED_REDIS_URL, prefix });
});

afterAll(async () => {
  await behindProxy.close();
  await direct.close();
  await deletePrefix(prefix);
  await db.drop();
});

describe('TRUST_PROXY', () => {
  it('throttles the forwarded client, not the proxy: other clients behind the same proxy still sign in', async () => {
    for (let i = 0; i < 10; i += 1) {
      expect((await signIn(behindProxy, 'wrong', { remoteAddress: PROXY, forwardedFor: '203.0.113.7' })).statusCode).toBe(401);
    }
    expect((await signIn(behindProxy, TEST_ADMIN_TOKEN, { remoteAddress: PROXY, forwardedFor: '203.0.113.7' })).statusCode).toBe(429);
    expect((await signIn(behindProxy, TEST_ADMIN_TOKEN, { remoteAddress: PROXY, forwardedFor: '203.0.113.8' })).statusCode).toBe(303);
  });

  it('marks the cookie Secure when the browser spoke HTTPS to the proxy, and only then', async () => {
    const viaHttps = await signIn(behindProxy, TEST_ADMIN_TOKEN, { remoteAddress: PROXY, forwardedFor: '203.0.113.20', forwardedProto: 'https' });
    expect(viaHttps.statusCode).toBe(303);
    expect(String(viaHttps.headers['set-cookie'])).toMatch(/; Secure$/);

    const viaHttp = await signIn(behindProxy, TEST_ADMIN_TOKEN, { remoteAddress: PROXY, forwardedFor: '203.0.113.21', forwardedProto: 'http' });
    expect(viaHttp.statusCode).toBe(303);
    expect(String(viaHttp.headers['set-cookie'])).not.toContain('Secure');
  });

  it('ignores forwarded headers from an address that is not a trusted proxy', async () => {
    // Each attempt claims another client; the throttle still sees the one real address.
    for (let i = 0; i < 10; i += 1) {
      expect((await signIn(behindProxy, 'wrong', { remoteAddress: '198.51.100.9', forwardedFor: `203.0.113.${100 + i}` })).statusCode).toBe(401);
    }
    expect((await signIn(behindProxy, TEST_ADMIN_TOKEN, { remoteAddress: '198.51.100.9', forwardedFor: '203.0.113.200' })).statusCode).toBe(429);
    const spoofedProto = await signIn(behindProxy, TEST_ADMIN_TOKEN, { remoteAddress: '198.51.100.10', forwardedProto: 'https' });
    expect(String(spoofedProto.headers['set-cookie'])).not.toContain('Secure');
  });

  it('is off by default: forwarded headers change nothing', async () => {
    for (let i = 0; i < 10; i += 1) {
      expect((await signIn(direct, 'wrong', { remoteAddress: PROXY, forwardedFor: `203.0.113.${50 + i}` })).statusCode).toBe(401);
    }
    expect((await signIn(direct, TEST_ADMIN_TOKEN, { remoteAddress: PROXY, forwardedFor: '203.0.113.99' })).statusCode).toBe(429);
    const proto = await signIn(direct, TEST_ADMIN_TOKEN, { remoteAddress: '10.9.9.9', forwardedProto: 'https' });
    expect(proto.statusCode).toBe(303);
    expect(String(proto.headers['set-cookie'])).not.toContain('Secure');
  });
});
