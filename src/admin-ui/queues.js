/** The Queues section: one card per queue with its jobs by state and how long the oldest has waited. */
import { el, figures, formatDuration, replace } from './dom.js';

/** BullMQ's states in plain words; "waiting" also counts prioritized jobs and those of a paused queue. */
const STATES = [
  ['Waiting', (counts) => (counts.waiting ?? 0) + (counts.prioritized ?? 0) + (counts.paused ?? 0)],
  ['Running', (counts) => counts.active ?? 0],
  ['Delayed', (counts) => counts.delayed ?? 0],
  ['Failed', (counts) => counts.failed ?? 0],
  ['Done', (counts) => counts.completed ?? 0],
];

export function renderQueues(container, queues) {
  replace(
    container,
    queues.map((queue) =>
      el(
        'article',
        { class: `card queue${(queue.counts.failed ?? 0) > 0 ? ' has-failed' : ''}`, 'data-queue': queue.name, 'aria-label': `Queue ${queue.name}` },
        el('h3', {}, queue.name, queue.isPaused ? el('span', { class: 'badge state-paused' }, 'Paused') : null),
        figures(STATES.map(([label, count]) => [label, count(queue.counts)])),
        el(
          'p',
          { class: 'hint' },
          queue.oldestWaitingAgeMs === null ? 'Nothing waiting' : `Oldest waiting: ${formatDuration(queue.oldestWaitingAgeMs)}`,
        ),
      ),
    ),
  );
}
