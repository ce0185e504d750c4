/** The Scheduler section: each periodic job, its cron pattern, last run and next run. */
import { el, figures, formatTime, replace } from './dom.js';

export function renderSchedules(container, schedules) {
  if (schedules.length === 0) {
    replace(container, el('p', { class: 'hint empty' }, 'No schedules are registered yet. They appear once a scheduler process has started.'));
    return;
  }
  replace(
    container,
    el(
      'div',
      { class: 'cards' },
      schedules.map((schedule) =>
        el(
          'article',
          { class: 'card schedule', 'data-schedule': schedule.name },
          el('h3', {}, schedule.name),
          el('p', {}, schedule.description),
          figures([
            ['Pattern', schedule.pattern],
            ['Time zone', schedule.timezone],
            ['Queue', schedule.queue],
            ['Last run', formatTime(schedule.lastRunAt)],
            ['Next run', formatTime(schedule.nextRunAt)],
          ]),
        ),
      ),
    ),
  );
}
