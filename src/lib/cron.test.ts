import { describe, expect, it } from 'vitest';
import { isValidCron, nextTick, previousTick, tickInterval } from './cron.js';

describe('cron', () => {
  it('reads 6-field patterns with seconds and 5-field ones', () => {
    expect(isValidCron('*/2 * * * * *', 'UTC')).toBeUndefined();
    expect(isValidCron('0 3 * * *', 'UTC')).toBeUndefined();
    expect(isValidCron('every day', 'UTC')).toBeDefined();
  });

  it('computes the same ticks in every process: next strictly after, previous at or before', () => {
    const at = new Date('2026-11-30T10:15:00.000Z');
    expect(nextTick('0 * * * * *', 'UTC', at).toISOString()).toBe('2026-11-30T10:16:00.000Z');
    expect(previousTick('0 * * * * *', 'UTC', at)?.toISOString()).toBe('2026-11-30T10:15:00.000Z');
    expect(previousTick('0 0 3 * * *', 'UTC', at)?.toISOString()).toBe('2026-11-30T03:00:00.000Z');
    expect(tickInterval('0 */5 * * * *', 'UTC', at)).toBe(5 * 60_000);
  });

  it('honours the time zone', () => {
    // 03:00 in Jerusalem (UTC+2 in winter) is 01:00 UTC.
    expect(nextTick('0 0 3 * * *', 'Asia/Jerusalem', new Date('2026-11-30T12:00:00Z')).toISOString()).toBe('2026-12-01T01:00:00.000Z');
  });
});
