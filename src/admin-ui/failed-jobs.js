/**
 * The Failed jobs section: for each queue that has failed jobs, the newest ones with their reason and
 * attempts, and a Retry button (POST /api/queues/:queue/failed/:id/retry). `onRetried` runs after a
 * retry was accepted (a retried broadcast send reopens its broadcast, whose card then goes live again).
 */
import { api, path } from './api.js';
import { el, figures, formatTime, plural, replace } from './dom.js';

const PAGE = 20;

export function createFailedJobs({ list, status, onRetried = async () => {} }) {
  let shown = '';

  async function retry(queue, job, button) {
    button.disabled = true;
    button.textContent = 'Retrying…';
    try {
      await api('POST', path`/api/queues/${queue}/failed/${job.id}/retry`);
      status.textContent = `Job ${job.id} is back in line in the ${queue} queue.`;
      // Not awaited: the failed list refreshes now; a problem there shows on the section's next poll.
      void onRetried().catch(() => {});
    } catch (error) {
      status.textContent = `Job ${job.id} was not retried: ${error.message}`;
      button.disabled = false;
      button.textContent = 'Retry';
    }
    await refresh();
  }

  function jobCard(queue, job) {
    const button = el('button', { type: 'button', class: 'primary' }, 'Retry');
    button.addEventListener('click', () => void retry(queue, job, button));
    const tenant = job.data && typeof job.data === 'object' && typeof job.data.tenantId === 'string' ? job.data.tenantId : null;
    return el(
      'article',
      { class: 'card failed-job', 'data-job-id': job.id, 'data-queue': queue },
      el('h4', {}, job.name),
      el('p', { class: 'reason' }, job.failedReason || 'No reason was recorded.'),
      figures([
        ['Attempts', job.attemptsMade],
        ['Failed at', formatTime(job.finishedAt)],
        ...(tenant ? [['Tenant', tenant]] : []),
      ]),
      el('p', { class: 'job-id' }, 'Job id: ', el('code', {}, job.id)),
      el('div', { class: 'actions' }, button),
    );
  }

  let latestQueues = [];

  /** Reads the failed jobs of the queues whose overview counts some. */
  async function refresh(queues = latestQueues) {
    latestQueues = queues;
    const withFailures = queues.filter((queue) => (queue.counts.failed ?? 0) > 0);
    const pages = await Promise.all(
      withFailures.map(async (queue) => ({ queue: queue.name, page: await api('GET', `${path`/api/queues/${queue.name}/failed`}?limit=${PAGE}`) })),
    );
    const fingerprint = JSON.stringify(pages);
    // Rebuilt only when something changed, so a button is not replaced under the operator's finger.
    if (fingerprint === shown) return;
    shown = fingerprint;
    const groups = pages.filter(({ page }) => page.items.length > 0);
    if (groups.length === 0) {
      replace(list, el('p', { class: 'hint empty' }, 'No failed jobs.'));
      return;
    }
    replace(
      list,
      groups.map(({ queue, page }) =>
        el(
          'div',
          { class: 'failed-group' },
          el('h3', {}, `${queue}: ${plural(page.total, 'failed job', 'failed jobs')}`),
          page.total > page.items.length ? el('p', { class: 'hint' }, `Showing the newest ${page.items.length}.`) : null,
          el('div', { class: 'cards' }, page.items.map((job) => jobCard(queue, job))),
        ),
      ),
    );
  }

  return { refresh };
}
