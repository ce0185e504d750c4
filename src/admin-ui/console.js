/**
 * The operator console's entry point: wires the sections to the admin API and keeps them fresh.
 * Queues and failed jobs every 2 s, broadcasts every 2 s (plus live streams), tenants every 15 s,
 * schedules every 10 s. A hidden tab skips its polls; a failing poll shows one banner until it
 * succeeds again.
 */
/* global document, setTimeout */
import { api } from './api.js';
import { createBroadcasts } from './broadcasts.js';
import { byId } from './dom.js';
import { createFailedJobs } from './failed-jobs.js';
import { renderQueues } from './queues.js';
import { renderSchedules } from './scheduler.js';

const problems = new Map();
const banner = byId('connection');

function showProblems() {
  const [first] = problems.values();
  banner.hidden = first === undefined;
  banner.textContent = first ?? '';
}

/** Runs `task` now and then `ms` after each run ends, so a slow answer never stacks up requests. */
function every(ms, source, task) {
  const run = async () => {
    if (document.visibilityState !== 'hidden') {
      try {
        await task();
        problems.delete(source);
      } catch (error) {
        if (error.status !== 401) problems.set(source, `Could not update ${source}: ${error.message}`);
      }
      showProblems();
    }
    setTimeout(() => void run(), ms);
  };
  void run();
}

const broadcasts = createBroadcasts({
  picker: byId('tenant-picker'),
  list: byId('broadcast-list'),
  status: byId('broadcasts-status'),
  form: byId('broadcast-form'),
  formStatus: byId('broadcast-form-status'),
});
// A retried broadcast send reopens its broadcast: read the list now, so its card goes live at once.
const failedJobs = createFailedJobs({ list: byId('failed-list'), status: byId('failed-status'), onRetried: () => broadcasts.refresh() });

every(2000, 'the queues', async () => {
  const { queues } = await api('GET', '/api/queues');
  renderQueues(byId('queue-list'), queues);
  await failedJobs.refresh(queues);
});

every(15_000, 'the tenants', () => broadcasts.loadTenants());
every(2000, 'the broadcasts', () => broadcasts.refresh());

every(10_000, 'the scheduler', async () => {
  const { schedules } = await api('GET', '/api/scheduler');
  renderSchedules(byId('schedule-list'), schedules);
});
