/**
 * ISO 8601 date-times that may lack an offset, read in a given IANA time zone, with nothing but
 * `Intl` (no time zone library: the runtime already carries the tz database).
 *
 * A wall-clock time does not always name exactly one instant. Like Temporal's default
 * (`disambiguation: 'compatible'`), a time skipped by a spring-forward gap moves forward by the
 * gap's length (02:30 on a night that jumps 02:00 → 03:00 is 03:30), and a time that occurs twice
 * when the clocks go back is the earlier one (still on summer time). Those are what a person
 * setting a reminder at "02:30" most likely means, and they never fail.
 */

export interface WallClockTime {
  year: number;
  /** 1–12 */
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  millisecond: number;
}

export interface ParsedDateTime {
  local: WallClockTime;
  /** Minutes east of UTC when the text carried `Z` or an offset; null when it is a wall-clock time. */
  offsetMinutes: number | null;
}

/** The accepted shape, as a JSON-schema `pattern` too (the API documents and checks it with it). */
export const ISO_DATE_TIME_PATTERN = '^(\\d{4})-(\\d{2})-(\\d{2})T(\\d{2}):(\\d{2})(?::(\\d{2})(?:\\.(\\d{1,9}))?)?(Z|([+-])(\\d{2}):?(\\d{2}))?$';
const ISO_DATE_TIME = new RegExp(ISO_DATE_TIME_PATTERN);

const DAY_MS = 86_400_000;

/**
 * Parses `YYYY-MM-DDTHH:mm[:ss[.fff]][Z|±HH:mm|±HHmm]`; null when the text is not one, or names a
 * day or time that does not exist (Feb 30, 24:00, 12:60).
 */
export function parseIsoDateTime(text: string): ParsedDateTime | null {
  const m = ISO_DATE_TIME.exec(text);
  if (!m) return null;
  const [, y, mo, d, h, mi, s, frac, zone, sign, oh, om] = m;
  const local: WallClockTime = {
    year: Number(y),
    month: Number(mo),
    day: Number(d),
    hour: Number(h),
    minute: Number(mi),
    second: s === undefined ? 0 : Number(s),
    // Milliseconds are what a Date holds; finer digits are dropped, not rounded up into the next second.
    millisecond: frac === undefined ? 0 : Number(frac.padEnd(3, '0').slice(0, 3)),
  };
  if (!isValidWallClock(local)) return null;
  if (zone === undefined) return { local, offsetMinutes: null };
  if (zone === 'Z') return { local, offsetMinutes: 0 };
  const hours = Number(oh);
  const minutes = Number(om);
  if (hours > 23 || minutes > 59) return null;
  return { local, offsetMinutes: (sign === '-' ? -1 : 1) * (hours * 60 + minutes) };
}

function isValidWallClock(t: WallClockTime): boolean {
  if (t.month < 1 || t.month > 12 || t.day < 1 || t.hour > 23 || t.minute > 59 || t.second > 59) return false;
  const daysInMonth = new Date(Date.UTC(t.year, t.month, 0)).getUTCDate();
  return t.day <= daysInMonth;
}

/** The wall-clock time read as if it were UTC, in epoch milliseconds. */
function wallClockAsUtc(t: WallClockTime): number {
  const date = new Date(0);
  // setUTCFullYear, not Date.UTC: Date.UTC maps years 0–99 to 1900–1999.
  date.setUTCFullYear(t.year, t.month - 1, t.day);
  date.setUTCHours(t.hour, t.minute, t.second, t.millisecond);
  return date.getTime();
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    // Throws a RangeError for a name that is not an IANA time zone.
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      era: 'short',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** How far `timeZone`'s wall clock is ahead of UTC at `instant` (epoch ms), in milliseconds. */
export function timeZoneOffsetMs(instant: number, timeZone: string): number {
  const fields: Record<string, number> = {};
  let isBeforeCommonEra = false;
  for (const part of formatterFor(timeZone).formatToParts(new Date(instant))) {
    if (part.type === 'era') isBeforeCommonEra = part.value === 'BC' || part.value === 'B';
    else if (part.type !== 'literal') fields[part.type] = Number(part.value);
  }
  const year = fields['year'] ?? 1970;
  const wallClock = wallClockAsUtc({
    year: isBeforeCommonEra ? 1 - year : year,
    month: fields['month'] ?? 1,
    day: fields['day'] ?? 1,
    // Some engines still print midnight as 24 despite h23.
    hour: (fields['hour'] ?? 0) % 24,
    minute: fields['minute'] ?? 0,
    second: fields['second'] ?? 0,
    millisecond: 0,
  });
  const wholeSecond = Math.floor(instant / 1000) * 1000;
  return wallClock - wholeSecond;
}

/** The instant a wall-clock time in `timeZone` names (see the file comment for gaps and overlaps). */
export function zonedWallClockToInstant(local: WallClockTime, timeZone: string): Date {
  const asUtc = wallClockAsUtc(local);
  // Every offset in force around that day: a transition a day away or less changes the candidates.
  const offsets = [...new Set([asUtc - DAY_MS, asUtc, asUtc + DAY_MS].map((at) => timeZoneOffsetMs(at, timeZone)))];
  // An offset fits when the instant it gives really shows that offset: the wall clock exists there.
  const fitting = offsets.map((offset) => asUtc - offset).filter((instant) => timeZoneOffsetMs(instant, timeZone) === asUtc - instant);
  if (fitting.length > 0) return new Date(Math.min(...fitting));
  // In a gap: read it with the offset from before the transition, which lands after the gap.
  return new Date(asUtc - timeZoneOffsetMs(asUtc - DAY_MS, timeZone));
}

/**
 * The instant an ISO 8601 date-time names: its own offset when it has one, else the wall clock in
 * `timeZone`. null when the text is not a valid date-time.
 */
export function parseZonedDateTime(text: string, timeZone: string): Date | null {
  const parsed = parseIsoDateTime(text);
  if (!parsed) return null;
  if (parsed.offsetMinutes !== null) return new Date(wallClockAsUtc(parsed.local) - parsed.offsetMinutes * 60_000);
  return zonedWallClockToInstant(parsed.local, timeZone);
}
