/**
 * The webhook's two authentication modes (DESIGN.md "Inbound contract"): the gateway's shared secret,
 * or a per-tenant HMAC over the raw body. Both compare in constant time; the secrets are hashed first
 * so the comparison does not even leak their length.
 */
import { createHmac, hash, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_TOLERANCE_SECONDS = 5 * 60;

/** One-shot hashing: no Hash object per request on the webhook's hot path. */
function digest(value: string | Buffer): Buffer {
  return hash('sha256', value, 'buffer');
}

export function constantTimeEquals(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/** A check against one fixed secret, its digest computed once rather than on every request. */
export function createSecretMatcher(expected: string | undefined): (given: string) => boolean {
  if (!expected) return () => false;
  const expectedDigest = digest(expected);
  return (given) => timingSafeEqual(digest(given), expectedDigest);
}

export function signBody(secret: string, timestamp: string, rawBody: Buffer | string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest('hex')}`;
}

export function isValidSignature(options: {
  secret: string;
  timestamp: string;
  signature: string;
  rawBody: Buffer;
  nowSeconds: number;
}): boolean {
  if (!/^\d{1,12}$/.test(options.timestamp)) return false;
  if (Math.abs(options.nowSeconds - Number(options.timestamp)) > SIGNATURE_TOLERANCE_SECONDS) return false;
  return constantTimeEquals(options.signature, signBody(options.secret, options.timestamp, options.rawBody));
}
