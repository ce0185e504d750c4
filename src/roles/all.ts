/** Role `all`: api, worker and scheduler in one process (development and the embedded default). */
import type { StartRole } from './role.js';

export const start: StartRole = async (c) => {
  const [api, worker, scheduler] = await Promise.all([
    import('./api.js'),
    import('./worker.js'),
    import('./scheduler.js'),
  ]);
  // The API serves /health, /ready and /metrics for the whole process. It starts first: if its port
  // is taken the process fails before any worker has picked up a job.
  const stopApi = await api.start(c, { serveHealth: true });
  const stopWorker = await worker.start(c, { serveHealth: false });
  const stopScheduler = await scheduler.start(c, { serveHealth: false });
  return async () => {
    await stopApi();
    await stopScheduler();
    await stopWorker();
  };
};
