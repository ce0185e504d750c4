/**
 * One broadcast as a card: its state, a progress bar, the figures, and the Pause / Resume / Cancel
 * buttons that its state allows. `update(view)` takes the API's progress object (from a poll or a
 * Server-Sent Event) and changes the card in place, so a button keeps its place while figures move.
 */
/* global clearTimeout, setTimeout */
import { el, formatTime } from './dom.js';

const STATE_LABELS = { pending: 'Starting', running: 'Sending', paused: 'Paused', completed: 'Completed', cancelled: 'Cancelled' };

const FIGURES = [
  ['sent', 'Sent'],
  ['failed', 'Failed'],
  ['skipped', 'Skipped'],
  ['pending', 'Pending'],
  ['delivered', 'Delivered'],
  ['read', 'Read'],
  ['total', 'Total'],
];

/** Which buttons each state shows; the server refuses the others with 409 anyway. */
const ACTIONS = {
  pause: new Set(['running']),
  resume: new Set(['paused']),
  cancel: new Set(['pending', 'running', 'paused']),
};

const CANCEL_CONFIRM_MS = 4000;

export function createBroadcastCard(view, onAction) {
  const titleId = `broadcast-${view.id}-title`;
  const title = el('h3', { id: titleId });
  const state = el('span', { class: 'badge' });
  const fill = el('div', { class: 'bar-fill' });
  const bar = el('div', { class: 'bar', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-labelledby': titleId }, fill);
  const percent = el('span', { class: 'bar-label' });
  const values = new Map(FIGURES.map(([key]) => [key, el('dd', {})]));
  const dates = el('p', { class: 'hint' });
  const status = el('p', { class: 'status', role: 'status' });

  const buttons = {
    pause: el('button', { type: 'button' }, 'Pause'),
    resume: el('button', { type: 'button', class: 'primary' }, 'Resume'),
    cancel: el('button', { type: 'button', class: 'danger' }, 'Cancel'),
  };

  let current = view;
  let confirmTimer;
  const resetCancel = () => {
    clearTimeout(confirmTimer);
    confirmTimer = undefined;
    buttons.cancel.textContent = 'Cancel';
  };

  const act = async (action) => {
    status.textContent = '';
    for (const button of Object.values(buttons)) button.disabled = true;
    try {
      await onAction(action, current, (message) => (status.textContent = message));
    } finally {
      for (const button of Object.values(buttons)) button.disabled = false;
    }
  };
  buttons.pause.addEventListener('click', () => void act('pause'));
  buttons.resume.addEventListener('click', () => void act('resume'));
  // Cancelling cannot be undone: the first click asks, a second one within a few seconds cancels.
  buttons.cancel.addEventListener('click', () => {
    if (confirmTimer === undefined) {
      buttons.cancel.textContent = 'Click again to cancel';
      confirmTimer = setTimeout(resetCancel, CANCEL_CONFIRM_MS);
      return;
    }
    resetCancel();
    void act('cancel');
  });

  const root = el(
    'article',
    { class: 'card broadcast', 'data-broadcast-id': view.id, 'aria-labelledby': titleId },
    el('div', { class: 'card-head' }, title, state),
    el('div', { class: 'bar-row' }, bar, percent),
    el('dl', { class: 'figures' }, FIGURES.map(([key, label]) => el('div', {}, el('dt', {}, label), values.get(key)))),
    dates,
    el('div', { class: 'actions' }, buttons.pause, buttons.resume, buttons.cancel),
    status,
  );

  function update(next) {
    current = next;
    title.textContent = next.name;
    state.textContent = STATE_LABELS[next.state] ?? next.state;
    state.className = `badge state-${next.state}`;
    root.dataset.state = next.state;
    // Floor, so the bar says 100 % only when every recipient has settled.
    const pct = Math.floor(Math.min(1, Math.max(0, next.progress)) * 100);
    fill.style.width = `${pct}%`;
    bar.setAttribute('aria-valuenow', String(pct));
    percent.textContent = `${pct} %`;
    for (const [key] of FIGURES) values.get(key).textContent = String(next[key]);
    const parts = [`Created ${formatTime(next.createdAt)}`];
    if (next.startedAt) parts.push(`started ${formatTime(next.startedAt)}`);
    if (next.finishedAt) parts.push(`finished ${formatTime(next.finishedAt)}`);
    if (next.duplicatesRemoved > 0) parts.push(`${next.duplicatesRemoved} duplicate recipients removed`);
    dates.textContent = parts.join(', ');
    for (const [action, states] of Object.entries(ACTIONS)) buttons[action].hidden = !states.has(next.state);
    if (!ACTIONS.cancel.has(next.state)) resetCancel();
  }

  update(view);
  return { root, update, get view() { return current; } };
}
