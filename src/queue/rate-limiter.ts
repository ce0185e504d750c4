/**
 * A send-rate limiter shared by every worker: one slot schedule per key in Redis, updated atomically by
 * a Lua script, so the rate holds however many worker processes run. No two takes of a key are closer
 * than `60000 / rate` ms, so a window of T ms holds at most 1 + T / interval takes (no bursts).
 *
 * Read from Redis' own clock so workers on different machines agree. `take` never blocks:
 * - the key is free now → 0 (taken);
 * - otherwise the caller (`holder`, a job id) is given the next free slot, and the answer is how long
 *   until it; when the holder comes back then, its slot is waiting for it.
 *
 * Why slots rather than "come back when the next one frees up": when many jobs of one key find it busy
 * together (a worker outage, a tenant running several broadcasts, a paused broadcast resumed), they
 * would all come back for the same next opening, one would win and the others would go round again,
 * each run costing database queries and a queue round trip, for as long as the backlog lasts; other
 * tenants' jobs wait behind that churn in the same queue. With a slot each, a job runs once more,
 * when it is its turn.
 *
 * A holder a little late for its slot (its worker was busy) still takes it, as soon as the previous
 * take is an interval old. One later than that (its worker was down) is given a new slot at the end,
 * so holders that come back together after an outage are spread out again rather than all waiting
 * for the same moment. A slot whose holder never comes (its broadcast was paused or cancelled) is
 * lost, slowing the key by one interval; callers bound how many slots of one key are held at once
 * (broadcasts queue their sends in slices), which bounds that loss.
 */
import type { Redis } from 'ioredis';

// KEYS[1]: the key's hash {next = first slot not yet given out, last = time of the last take};
// KEYS[2]: the holder's slot. ARGV[1]: the interval in ms.
const TAKE_SCRIPT = /* lua */ `
local interval = tonumber(ARGV[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local nextFree = tonumber(redis.call('HGET', KEYS[1], 'next') or '0')
local earliest = tonumber(redis.call('HGET', KEYS[1], 'last') or '0') + interval
local function keep(untilMs)
  redis.call('PEXPIRE', KEYS[1], math.max(untilMs - now, 0) + math.max(1000, interval * 2))
end
local held = redis.call('GET', KEYS[2])
if held then
  local slot = tonumber(held)
  local at = math.max(slot, earliest)
  if at - slot <= interval then
    if at > now then
      return at - now
    end
    redis.call('DEL', KEYS[2])
    redis.call('HSET', KEYS[1], 'last', now)
    keep(math.max(nextFree, now + interval))
    return 0
  end
  redis.call('DEL', KEYS[2])
end
local at = math.max(nextFree, earliest)
if at <= now then
  redis.call('HSET', KEYS[1], 'last', now, 'next', now + interval)
  keep(now + interval)
  return 0
end
redis.call('HSET', KEYS[1], 'next', at + interval)
keep(at + interval)
redis.call('SET', KEYS[2], tostring(at), 'PX', at - now + interval + 60000)
return at - now
`;

interface WithTake {
  switchboardTakeSlot(bucketKey: string, holderKey: string, intervalMs: number): Promise<number>;
}

export function intervalMsOf(ratePerMinute: number): number {
  return Math.max(1, Math.ceil(60_000 / ratePerMinute));
}

export class RateLimiter {
  constructor(
    private readonly connection: Redis,
    private readonly prefix: string,
  ) {
    if (!('switchboardTakeSlot' in connection)) {
      connection.defineCommand('switchboardTakeSlot', { numberOfKeys: 2, lua: TAKE_SCRIPT });
    }
  }

  /**
   * Takes a slot of `key` for `holder`: 0 when it may go now, else the milliseconds until the slot
   * now reserved for it (the caller postpones until then and calls `take` again with the same holder).
   */
  async take(key: string, ratePerMinute: number, holder: string): Promise<number> {
    const intervalMs = intervalMsOf(ratePerMinute);
    // Not the `rate:` strings of the token bucket this replaced: a worker of each kind during a deploy
    // would otherwise read the other's key with the wrong type.
    const bucketKey = `${this.prefix}:switchboard:rate-slots:${key}`;
    const wait = await (this.connection as unknown as WithTake).switchboardTakeSlot(
      bucketKey,
      `${bucketKey}:held:${holder}`,
      intervalMs,
    );
    return Number(wait);
  }
}
