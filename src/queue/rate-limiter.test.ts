/**
 * The slot limiter against a real Redis (its Lua script and Redis' clock are the thing under test):
 * distinct slots for callers that find the key busy, a holder's slot kept for it, no two takes closer
 * than the interval, and holders back together after an outage spread out again.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHARED_REDIS_URL, deletePrefix, uniquePrefix } from '../../test/support/redis.js';
import { RateLimiter } from './rate-limiter.js';

let redis: Redis;
let prefix: string;
let limiter: RateLimiter;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Takes for `holder`, waiting as told, until it is taken; returns when (local clock). */
async function takeWhenDue(key: string, rate: number, holder: string): Promise<number> {
  for (;;) {
    const wait = await limiter.take(key, rate, holder);
    if (wait === 0) return Date.now();
    await sleep(wait);
  }
}

beforeAll(async () => {
  prefix = uniquePrefix();
  redis = new Redis(SHARED_REDIS_URL);
  limiter = new RateLimiter(redis, prefix);
});

afterAll(async () => {
  redis.disconnect();
  await deletePrefix(prefix);
});

describe('RateLimiter', () => {
  it('gives callers that find the key busy distinct slots, one interval apart, and keeps each for its holder', async () => {
    // 60 per minute: one take per second.
    expect(await limiter.take('distinct', 60, 'job-0')).toBe(0);
    const waits = [];
    for (let i = 1; i <= 5; i += 1) waits.push(await limiter.take('distinct', 60, `job-${i}`));
    for (let i = 0; i < waits.length; i += 1) {
      expect(waits[i]).toBeGreaterThan(1000 * (i + 1) - 100);
      expect(waits[i]).toBeLessThanOrEqual(1000 * (i + 1));
    }
    // Asking again early keeps the same slot rather than taking a new one at the end.
    const again = await limiter.take('distinct', 60, 'job-3');
    expect(again).toBeGreaterThan(2000);
    expect(again).toBeLessThanOrEqual(waits[2] ?? 0);
    // A newcomer goes after all of them.
    expect(await limiter.take('distinct', 60, 'newcomer')).toBeGreaterThan(5000);
    // Another key is not affected.
    expect(await limiter.take('other-key', 60, 'job-0')).toBe(0);
  });

  it('never lets two takes of a key be closer than the interval, however the holders come back', async () => {
    const rate = 600; // 100 ms apart
    const takes = await Promise.all(Array.from({ length: 12 }, (_, i) => takeWhenDue('spacing', rate, `job-${i}`)));
    takes.sort((a, b) => a - b);
    for (let i = 1; i < takes.length; i += 1) expect((takes[i] ?? 0) - (takes[i - 1] ?? 0)).toBeGreaterThanOrEqual(95);
    // ...and loses no time either: 12 takes in about 11 intervals.
    expect((takes[takes.length - 1] ?? 0) - (takes[0] ?? 0)).toBeLessThan(11 * 100 + 400);
  });

  it('spreads holders that come back together long after their slots (an outage) instead of letting them burst or pile up', async () => {
    const rate = 600;
    expect(await limiter.take('outage', rate, 'first')).toBe(0);
    const slots = [];
    for (let i = 0; i < 5; i += 1) slots.push(await limiter.take('outage', rate, `held-${i}`));
    // Every holder comes back well after its slot.
    await sleep((slots[slots.length - 1] ?? 0) + 500);
    // Each answer is a wait from the moment of its own take: compare the slots on one clock.
    const answers: Array<{ wait: number; slotAt: number }> = [];
    for (let i = 0; i < 5; i += 1) {
      const askedAt = Date.now();
      const wait = await limiter.take('outage', rate, `held-${i}`);
      answers.push({ wait, slotAt: askedAt + wait });
    }
    // One goes at once; the others get new, distinct slots an interval apart.
    expect(answers.filter((a) => a.wait === 0)).toHaveLength(1);
    const later = answers.filter((a) => a.wait > 0).map((a) => a.slotAt).sort((a, b) => a - b);
    expect(later).toHaveLength(4);
    // Less the few milliseconds a take itself can last on a loaded machine.
    for (let i = 1; i < later.length; i += 1) expect((later[i] ?? 0) - (later[i - 1] ?? 0)).toBeGreaterThanOrEqual(95);
  });
});
