import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/**
 * One root logger per process; modules take a child with their scope (`{ role }`, `{ jobId }`, …).
 * Pretty output only on an interactive terminal: machines read JSON lines.
 *
 * JSON lines go to stdout asynchronously: under load, lines written while a write is in flight
 * leave in one system call instead of one each (the webhook logs a line per message, so this was a
 * tenth of the API's CPU). Nothing waits for a buffer to fill, and pino flushes what is left when the
 * process exits.
 */
export function createLogger(level: LevelWithSilent, base: Record<string, unknown> = {}): Logger {
  const options = { level, base: { pid: process.pid, ...base }, timestamp: pino.stdTimeFunctions.isoTime };
  if (process.stdout.isTTY === true) {
    return pino({ ...options, transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l' } } });
  }
  return pino(options, pino.destination({ dest: 1, sync: false }));
}
