/**
 * Cron patterns (5 fields, or 6 with seconds first) evaluated in a time zone. Every scheduler process
 * computes the same tick times from the same pattern, which is what lets ticks be deduplicated by id.
 */
import cronParser from 'cron-parser';

export function isValidCron(pattern: string, tz: string): string | undefined {
  try {
    cronParser.parseExpression(pattern, { tz });
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/** The first tick strictly after `after`. */
export function nextTick(pattern: string, tz: string, after: Date): Date {
  return cronParser.parseExpression(pattern, { tz, currentDate: after }).next().toDate();
}

/** The last tick at or before `at` (null if the pattern never fired before). */
export function previousTick(pattern: string, tz: string, at: Date): Date | null {
  try {
    // cron-parser's prev() is strictly before currentDate: nudge by 1 ms to include `at` itself.
    return cronParser.parseExpression(pattern, { tz, currentDate: new Date(at.getTime() + 1) }).prev().toDate();
  } catch {
    return null;
  }
}

/** The time between two consecutive ticks after `from` (for patterns with an even rhythm). */
export function tickInterval(pattern: string, tz: string, from: Date): number {
  const expression = cronParser.parseExpression(pattern, { tz, currentDate: from });
  const first = expression.next().getTime();
  return expression.next().getTime() - first;
}
