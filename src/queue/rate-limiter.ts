/**
 * A send-rate limiter shared by every worker: one token bucket per key in Redis, taken atomically by a
 * Lua script, so the rate holds however many worker processes run. Capacity is one token (no bursts):
 * at `ratePerMinute` a key allows one take every 60000 / rate ms, so a window of T ms holds at most
 * 1 + T / interval takes.
 *
 * Stored as the key's "next free time" (GCRA, equivalent to a one-token bucket), read from Redis' own
 * clock so workers on different machines agree. `take` never blocks: it answers 0 (taken) or how many
 * milliseconds until the next token, and the caller postpones its job; other keys (tenants) and other
 * queues never wait on it.
 */
import type { Redis } from 'ioredis';

const TAKE_SCRIPT = /* lua */ `
local interval = tonumber(ARGV[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local nextFree = tonumber(redis.call('GET', KEYS[1]) or '0')
if nextFree > now then
  return nextFree - now
end
redis.call('SET', KEYS[1], tostring(now + interval), 'PX', math.max(1000, interval * 2))
return 0
`;

interface WithTake {
  switchboardTakeToken(key: string, intervalMs: number): Promise<number>;
}

export class RateLimiter {
  constructor(
    private readonly connection: Redis,
    private readonly prefix: string,
  ) {
    if (!('switchboardTakeToken' in connection)) {
      connection.defineCommand('switchboardTakeToken', { numberOfKeys: 1, lua: TAKE_SCRIPT });
    }
  }

  /** Takes a token of `key`: 0 when taken, else the milliseconds until one is available. */
  async take(key: string, ratePerMinute: number): Promise<number> {
    const intervalMs = Math.max(1, Math.ceil(60_000 / ratePerMinute));
    const wait = await (this.connection as unknown as WithTake).switchboardTakeToken(`${this.prefix}:switchboard:rate:${key}`, intervalMs);
    return Number(wait);
  }
}
