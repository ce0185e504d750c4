/**
 * Readers for the JSON forms Baileys' protobuf objects take once a gateway has run them through
 * `JSON.stringify`: 64-bit integers become `Long` objects (or strings), bytes become Buffer JSON.
 */

export type BufferJson = { type: 'Buffer'; data: string | number[] };

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const NUMERIC_STRING = /^-?\d+(\.\d+)?$/;

function isInt32ish(v: unknown): v is number {
  // Serialisers disagree on whether `low` is written signed or unsigned; both fit in this range.
  return typeof v === 'number' && Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 32;
}

/**
 * A number, a numeric string or a Long `{low, high, unsigned}` as a number; null for anything else.
 * Longs beyond 2^53 lose precision, which is harmless for the timestamps and sizes read here.
 */
export function toNumber(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'string') {
    const s = v.trim();
    // `Number('')` is 0, so the pattern, not Number(), decides what counts as numeric.
    return NUMERIC_STRING.test(s) ? Number(s) : null;
  }
  if (isRecord(v) && isInt32ish(v.low) && isInt32ish(v.high)) {
    const high = v.unsigned === true ? v.high >>> 0 : v.high | 0;
    return high * 2 ** 32 + (v.low >>> 0);
  }
  return null;
}

export function isBufferJson(v: unknown): v is BufferJson {
  if (!isRecord(v) || v.type !== 'Buffer') return false;
  const { data } = v;
  return typeof data === 'string' || (Array.isArray(data) && data.every((b) => typeof b === 'number'));
}

/** The user part of a jid, without the server and without a `:device` suffix. */
export function jidUser(jid: string): string {
  const at = jid.indexOf('@');
  const user = at === -1 ? jid : jid.slice(0, at);
  const colon = user.indexOf(':');
  return colon === -1 ? user : user.slice(0, colon);
}

/** The server part of a jid (`s.whatsapp.net`, `lid`, `g.us`…), or null when there is no `@`. */
export function jidServer(jid: string): string | null {
  const at = jid.indexOf('@');
  return at === -1 ? null : jid.slice(at + 1);
}

const PHONE_SERVERS = new Set(['s.whatsapp.net', 'c.us']);

/** The phone digits of a phone-number jid; null for lids, groups and anything malformed. */
export function phoneFromJid(jid: string): string | null {
  const server = jidServer(jid);
  if (server === null || !PHONE_SERVERS.has(server)) return null;
  const user = jidUser(jid);
  return /^\d+$/.test(user) ? user : null;
}
