/**
 * The scheduler role: enqueues periodic work, processes nothing. The schedule list itself arrives
 * with the scheduler issue; today the role starts, serves its health endpoints and waits.
 */
import type { Server } from 'node:http';
import { startHealthServer } from '../lib/health-server.js';
import type { StartRole } from './role.js';

export const start: StartRole = async (c, { serveHealth }) => {
  let server: Server | undefined;
  if (serveHealth) server = await startHealthServer({ port: c.config.PORT, host: c.config.HOST, probes: c.probes, metrics: c.metrics });
  c.log.info({ component: 'scheduler', schedules: 0 }, 'Scheduler started (no periodic jobs are defined yet)');
  return async () => {
    server?.close();
  };
};
