/**
 * The scheduler role: enqueues one job per tick of each schedule (src/scheduler/), processes nothing,
 * serves no API (health and metrics aside). Run as many as you like: ticks are deduplicated by id.
 */
import type { Server } from 'node:http';
import { startHealthServer } from '../lib/health-server.js';
import { Scheduler } from '../scheduler/scheduler.js';
import { resolveSchedules } from '../scheduler/schedules.js';
import type { StartRole } from './role.js';

export const start: StartRole = async (c, { serveHealth }) => {
  const log = c.log.child({ component: 'scheduler' });
  let server: Server | undefined;
  if (serveHealth) server = await startHealthServer({ port: c.config.PORT, host: c.config.HOST, probes: c.probes, metrics: c.metrics });
  const schedules = resolveSchedules(c.config);
  const scheduler = new Scheduler(schedules, c.queues, c.scheduleRegistry, log);
  scheduler.start();
  log.info({ schedules: schedules.map((s) => `${s.name} (${s.pattern} ${s.tz})`) }, 'Scheduler started');
  return async () => {
    scheduler.stop();
    server?.close();
  };
};
