import { describe, expect, it } from 'vitest';
import { constantTimeEquals, createSecretMatcher, isValidSignature, signBody } from './webhook-auth.js';

const rawBody = Buffer.from('{"tenantId":"acme"}');
const secret = 'tenant-webhook-secret';

describe('webhook authentication', () => {
  it('compares secrets of any length without throwing', () => {
    expect(constantTimeEquals('abc', 'abc')).toBe(true);
    expect(constantTimeEquals('abc', 'abcd')).toBe(false);
    expect(constantTimeEquals('', 'abc')).toBe(false);
  });

  it('a matcher for a fixed secret accepts only that secret, and nothing when none is configured', () => {
    const isSecret = createSecretMatcher('s3cret');
    expect(isSecret('s3cret')).toBe(true);
    expect(isSecret('s3cre')).toBe(false);
    expect(createSecretMatcher(undefined)('')).toBe(false);
    expect(createSecretMatcher('')('')).toBe(false);
  });

  it('signs timestamp + "." + raw body with HMAC-SHA256, hex, v1= prefix', () => {
    expect(signBody(secret, '1764480000', rawBody)).toMatch(/^v1=[0-9a-f]{64}$/);
  });

  it('accepts a signature within ±5 minutes and rejects one outside, or for another body', () => {
    const now = 1_764_480_000;
    const check = (timestamp: number, body = rawBody) =>
      isValidSignature({ secret, timestamp: String(timestamp), signature: signBody(secret, String(timestamp), rawBody), rawBody: body, nowSeconds: now });
    expect(check(now)).toBe(true);
    expect(check(now - 300)).toBe(true);
    expect(check(now + 300)).toBe(true);
    expect(check(now - 301)).toBe(false);
    expect(check(now + 301)).toBe(false);
    expect(check(now, Buffer.from('{"tenantId":"evil"}'))).toBe(false);
    expect(isValidSignature({ secret, timestamp: 'soon', signature: 'v1=00', rawBody, nowSeconds: now })).toBe(false);
  });
});
