/**
 * The operator console's sign-in: an HttpOnly, SameSite=Strict cookie holding an expiring value
 * signed with a key derived from ADMIN_TOKEN.
 *
 * Why a signed value and not a session id kept in Redis: every API process can check it on its own
 * (several API processes behind a load balancer need no shared session store and no sticky sessions),
 * a restart signs nobody out, checking costs one HMAC and no round trip, and the console still signs in
 * while Redis is down (it is the place an operator looks at when Redis is in trouble). Changing
 * ADMIN_TOKEN changes the key, which revokes every session at once. The price of statelessness: signing
 * out clears the browser's cookie but cannot revoke a copy of it, so a session lasts at most
 * ADMIN_SESSION_HOURS, and the cookie is HttpOnly (no script reads it) and never appears in a URL.
 *
 * Value: `<expiry, ms since epoch, base 36>.<random nonce>.<HMAC-SHA256(key, expiry.nonce)>`, base64url.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';

export const SESSION_COOKIE = 'switchboard_console';

/** A fixed label, so the session key differs from every other use of the admin token. */
const KEY_LABEL = 'switchboard/operator-console-session/v1';

export interface AdminSessions {
  /** A new cookie value, valid for the session lifetime from `now`. */
  issue(now?: number): string;
  /** Whether the request carries an unexpired session cookie signed with the current key. */
  isSignedIn(request: FastifyRequest, now?: number): boolean;
  /** The `Set-Cookie` value that signs the browser in. */
  signInCookie(value: string, request: FastifyRequest): string;
  /** The `Set-Cookie` value that removes the session from the browser. */
  signOutCookie(request: FastifyRequest): string;
}

export function createAdminSessions(options: { adminToken: string | undefined; lifetimeMs: number }): AdminSessions {
  const key = options.adminToken ? createHmac('sha256', options.adminToken).update(KEY_LABEL).digest() : undefined;
  const sign = (payload: string): Buffer => createHmac('sha256', key ?? Buffer.alloc(0)).update(payload).digest();
  const maxAgeSeconds = Math.floor(options.lifetimeMs / 1000);

  const isValid = (value: string, now: number): boolean => {
    if (!key) return false;
    const parts = value.split('.');
    if (parts.length !== 3) return false;
    const [expiry = '', nonce = '', mac = ''] = parts;
    const expiresAt = Number.parseInt(expiry, 36);
    if (!/^[0-9a-z]{1,12}$/.test(expiry) || !(expiresAt > now)) return false;
    const given = Buffer.from(mac, 'base64url');
    const expected = sign(`${expiry}.${nonce}`);
    return given.length === expected.length && timingSafeEqual(given, expected);
  };

  return {
    issue(now = Date.now()) {
      const expiry = (now + options.lifetimeMs).toString(36);
      const nonce = randomBytes(16).toString('base64url');
      return `${expiry}.${nonce}.${sign(`${expiry}.${nonce}`).toString('base64url')}`;
    },
    isSignedIn(request, now = Date.now()) {
      const value = readCookie(request.headers.cookie, SESSION_COOKIE);
      return value !== undefined && isValid(value, now);
    },
    signInCookie(value, request) {
      return serializeCookie(value, maxAgeSeconds, request);
    },
    signOutCookie(request) {
      return serializeCookie('', 0, request);
    },
  };
}

/**
 * Path=/ because the console's page calls /api with the same cookie. Secure only over HTTPS: a
 * Secure cookie set over plain HTTP (a console opened on a LAN address) would be dropped silently.
 */
function serializeCookie(value: string, maxAgeSeconds: number, request: FastifyRequest): string {
  const secure = request.protocol === 'https' ? '; Secure' : '';
  return `${SESSION_COOKIE}=${value}; Path=/; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Strict${secure}`;
}

/** One cookie's value from a `Cookie` header (the console sets only this one; others are ignored). */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const separator = part.indexOf('=');
    if (separator < 0) continue;
    if (part.slice(0, separator).trim() === name) return part.slice(separator + 1).trim();
  }
  return undefined;
}
