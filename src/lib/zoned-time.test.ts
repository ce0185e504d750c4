import { describe, expect, it } from 'vitest';
import { parseIsoDateTime, parseZonedDateTime, timeZoneOffsetMs, zonedWallClockToInstant } from './zoned-time.js';

const HOUR = 3_600_000;
const iso = (text: string, timeZone: string) => parseZonedDateTime(text, timeZone)?.toISOString() ?? null;

describe('parseIsoDateTime', () => {
  it('reads a wall-clock time, Z and offsets with or without a colon', () => {
    expect(parseIsoDateTime('2026-12-01T09:00:00')).toEqual({
      local: { year: 2026, month: 12, day: 1, hour: 9, minute: 0, second: 0, millisecond: 0 },
      offsetMinutes: null,
    });
    expect(parseIsoDateTime('2026-12-01T09:00')?.local.second).toBe(0);
    expect(parseIsoDateTime('2026-12-01T09:00:00Z')?.offsetMinutes).toBe(0);
    expect(parseIsoDateTime('2026-12-01T09:00:00+02:00')?.offsetMinutes).toBe(120);
    expect(parseIsoDateTime('2026-12-01T09:00:00-0530')?.offsetMinutes).toBe(-330);
    expect(parseIsoDateTime('2026-12-01T09:00:00.123456Z')?.local.millisecond).toBe(123);
    expect(parseIsoDateTime('2026-12-01T09:00:00.5Z')?.local.millisecond).toBe(500);
  });

  it.each([
    '',
    '2026-12-01',
    '2026-12-01 09:00:00',
    '2026-12-01T9:00:00',
    '2026-13-01T09:00:00',
    '2026-02-29T09:00:00',
    '2026-04-31T09:00:00',
    '2026-12-00T09:00:00',
    '2026-12-01T24:00:00',
    '2026-12-01T09:60:00',
    '2026-12-01T09:00:60',
    '2026-12-01T09:00:00+24:00',
    '2026-12-01T09:00:00+02',
    '2026-12-01T09:00:00 Z',
    'tomorrow at nine',
  ])('rejects %j', (text) => {
    expect(parseIsoDateTime(text)).toBeNull();
  });

  it('knows leap years', () => {
    expect(parseIsoDateTime('2028-02-29T09:00:00')).not.toBeNull();
    expect(parseIsoDateTime('2100-02-29T09:00:00')).toBeNull();
  });
});

describe('timeZoneOffsetMs', () => {
  it('is the zone’s offset at that instant, summer and winter', () => {
    expect(timeZoneOffsetMs(Date.parse('2026-01-15T12:00:00Z'), 'Europe/Berlin')).toBe(1 * HOUR);
    expect(timeZoneOffsetMs(Date.parse('2026-07-15T12:00:00Z'), 'Europe/Berlin')).toBe(2 * HOUR);
    expect(timeZoneOffsetMs(Date.parse('2026-07-15T12:00:00.999Z'), 'America/New_York')).toBe(-4 * HOUR);
    expect(timeZoneOffsetMs(Date.parse('2026-07-15T12:00:00Z'), 'Asia/Kolkata')).toBe(5.5 * HOUR);
    expect(timeZoneOffsetMs(Date.parse('2026-07-15T12:00:00Z'), 'UTC')).toBe(0);
  });

  it('throws for a name that is not a time zone', () => {
    expect(() => timeZoneOffsetMs(0, 'Mars/Olympus_Mons')).toThrow(RangeError);
  });
});

describe('parseZonedDateTime', () => {
  it('keeps an explicit offset or Z whatever the zone', () => {
    expect(iso('2026-12-01T09:00:00Z', 'Asia/Jerusalem')).toBe('2026-12-01T09:00:00.000Z');
    expect(iso('2026-12-01T09:00:00+05:30', 'Europe/Berlin')).toBe('2026-12-01T03:30:00.000Z');
    expect(iso('2026-12-01T09:00:00-03:00', 'UTC')).toBe('2026-12-01T12:00:00.000Z');
  });

  it('reads a wall-clock time in the zone', () => {
    expect(iso('2026-12-01T09:00:00', 'UTC')).toBe('2026-12-01T09:00:00.000Z');
    expect(iso('2026-12-01T09:00:00', 'Asia/Jerusalem')).toBe('2026-12-01T07:00:00.000Z');
    expect(iso('2026-07-01T09:00:00', 'Asia/Jerusalem')).toBe('2026-07-01T06:00:00.000Z');
    expect(iso('2026-12-01T09:00:00.250', 'America/New_York')).toBe('2026-12-01T14:00:00.250Z');
    expect(iso('2026-07-01T09:00', 'Asia/Kolkata')).toBe('2026-07-01T03:30:00.000Z');
  });

  it('is null for text that is not a date-time', () => {
    expect(parseZonedDateTime('2026-02-30T09:00:00', 'UTC')).toBeNull();
  });

  describe('across Europe/Berlin’s 2026 transitions (29 March 02:00 → 03:00, 25 October 03:00 → 02:00)', () => {
    const zone = 'Europe/Berlin';
    it('uses winter time just before spring-forward and summer time just after', () => {
      expect(iso('2026-03-29T01:59:59', zone)).toBe('2026-03-29T00:59:59.000Z');
      expect(iso('2026-03-29T03:00:00', zone)).toBe('2026-03-29T01:00:00.000Z');
      // The day before and after, 09:00 local: one UTC hour apart.
      expect(iso('2026-03-28T09:00:00', zone)).toBe('2026-03-28T08:00:00.000Z');
      expect(iso('2026-03-30T09:00:00', zone)).toBe('2026-03-30T07:00:00.000Z');
    });

    it('moves a time inside the spring-forward gap forward by the gap', () => {
      // 02:30 never shows on Berlin clocks that night; it is read as 03:30 summer time.
      expect(iso('2026-03-29T02:30:00', zone)).toBe('2026-03-29T01:30:00.000Z');
      expect(iso('2026-03-29T02:00:00', zone)).toBe('2026-03-29T01:00:00.000Z');
    });

    it('takes the earlier of a time shown twice when the clocks go back', () => {
      // 02:30 shows first at 00:30Z (summer time), then again at 01:30Z.
      expect(iso('2026-10-25T02:30:00', zone)).toBe('2026-10-25T00:30:00.000Z');
      expect(iso('2026-10-25T01:59:59', zone)).toBe('2026-10-24T23:59:59.000Z');
      expect(iso('2026-10-25T03:00:00', zone)).toBe('2026-10-25T02:00:00.000Z');
    });
  });

  describe('across Asia/Jerusalem’s 2026 transitions (27 March 02:00 → 03:00, 25 October 02:00 → 01:00)', () => {
    const zone = 'Asia/Jerusalem';
    it('switches offset on the right day', () => {
      expect(iso('2026-03-26T09:00:00', zone)).toBe('2026-03-26T07:00:00.000Z');
      expect(iso('2026-03-27T09:00:00', zone)).toBe('2026-03-27T06:00:00.000Z');
      expect(iso('2026-10-24T09:00:00', zone)).toBe('2026-10-24T06:00:00.000Z');
      expect(iso('2026-10-25T09:00:00', zone)).toBe('2026-10-25T07:00:00.000Z');
    });

    it('resolves the gap forward and the overlap to the earlier instant', () => {
      expect(iso('2026-03-27T02:15:00', zone)).toBe('2026-03-27T00:15:00.000Z');
      expect(iso('2026-10-25T01:30:00', zone)).toBe('2026-10-24T22:30:00.000Z');
    });
  });

  it('round-trips every hour of a year in zones with and without DST (Lord Howe shifts by 30 minutes)', () => {
    for (const zone of ['Europe/Berlin', 'Asia/Jerusalem', 'America/Sao_Paulo', 'Australia/Lord_Howe', 'Asia/Tokyo']) {
      for (let at = Date.parse('2026-01-01T00:00:00Z'); at < Date.parse('2027-01-01T00:00:00Z'); at += HOUR) {
        const wall = new Date(at + timeZoneOffsetMs(at, zone));
        const local = {
          year: wall.getUTCFullYear(),
          month: wall.getUTCMonth() + 1,
          day: wall.getUTCDate(),
          hour: wall.getUTCHours(),
          minute: wall.getUTCMinutes(),
          second: wall.getUTCSeconds(),
          millisecond: 0,
        };
        const back = zonedWallClockToInstant(local, zone).getTime();
        // An instant in the second pass of a repeated hour reads back as the first pass.
        const isRepeated = back !== at;
        if (isRepeated) {
          expect(back, `${zone} ${new Date(at).toISOString()}`).toBeLessThan(at);
          expect(timeZoneOffsetMs(back, zone)).toBeGreaterThan(timeZoneOffsetMs(at, zone));
        }
      }
    }
  });
});
