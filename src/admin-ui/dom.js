/**
 * Building the page without markup strings: every element is created here and every piece of data
 * goes in as text (textContent), so a tenant name or a job's failure reason can never become HTML.
 */
/* global document */

/**
 * `el('p', { class: 'hint' }, 'text', child)`: attributes are set with setAttribute (never `style`
 * or `on…`, which the page's Content-Security-Policy would refuse anyway); children are nodes or text.
 */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    node.setAttribute(name, value === true ? '' : String(value));
  }
  append(node, children);
  return node;
}

export function append(node, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
  return node;
}

/** Replaces an element's children. */
export function replace(node, ...children) {
  node.replaceChildren();
  return append(node, children);
}

export function byId(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`The page has no #${id}`);
  return node;
}

/** A label/value list: `figures([['Sent', 3], ['Failed', 0]])`. */
export function figures(pairs, className = 'figures') {
  return el('dl', { class: className }, pairs.map(([label, value]) => el('div', {}, el('dt', {}, label), el('dd', {}, String(value)))));
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** "4 s", "3 min", "2 h 5 min", "3 days". */
export function formatDuration(ms) {
  if (ms < MINUTE) return `${Math.max(0, Math.round(ms / SECOND))} s`;
  if (ms < HOUR) return `${Math.floor(ms / MINUTE)} min`;
  if (ms < DAY) {
    const minutes = Math.floor((ms % HOUR) / MINUTE);
    return `${Math.floor(ms / HOUR)} h${minutes ? ` ${minutes} min` : ''}`;
  }
  const days = Math.floor(ms / DAY);
  return `${days} day${days === 1 ? '' : 's'}`;
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

/** A timestamp in the operator's own time zone, or "never". */
export function formatTime(iso) {
  if (!iso) return 'never';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : dateTime.format(date);
}

export function plural(count, one, many) {
  return `${count} ${count === 1 ? one : many}`;
}
