import type { Logger } from './logger.js';

export type Release = () => Promise<void> | void;

/**
 * Collects the things a process must release and releases them in reverse order of acquisition:
 * intake first (HTTP server, workers), then queues, Redis, the database. A hard deadline bounds the
 * whole sequence so a hung resource cannot keep a terminating pod alive forever.
 */
export class Releasers {
  private readonly items: Array<{ name: string; release: Release }> = [];

  add(name: string, release: Release): void {
    this.items.push({ name, release });
  }

  async releaseAll(log: Logger, deadlineMs: number): Promise<void> {
    const run = async () => {
      for (const { name, release } of this.items.splice(0).reverse()) {
        try {
          await release();
        } catch (error) {
          log.warn({ err: error, resource: name }, 'Release failed');
        }
      }
    };
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), deadlineMs);
      timer.unref();
    });
    const outcome = await Promise.race([run().then(() => 'done' as const), deadline]);
    clearTimeout(timer);
    if (outcome === 'timeout') log.error({ deadlineMs }, 'Shutdown deadline passed; exiting anyway');
  }
}

/** Resolves with `promise`, or rejects with `onTimeout()` after `ms`. The timer never holds the process. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
    timer.unref();
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
