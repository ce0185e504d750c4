import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/**
 * One root logger per process; modules take a child with their scope (`{ role }`, `{ jobId }`, …).
 * Pretty output only on an interactive terminal: machines read JSON lines.
 */
export function createLogger(level: LevelWithSilent, base: Record<string, unknown> = {}): Logger {
  const pretty = process.stdout.isTTY === true;
  return pino({
    level,
    base: { pid: process.pid, ...base },
    timestamp: pino.stdTimeFunctions.isoTime,
    ...(pretty ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l' } } } : {}),
  });
}
