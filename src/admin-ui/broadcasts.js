/**
 * The Broadcasts section: a tenant picker, the tenant's newest broadcasts as cards, live bars, and
 * the New broadcast form.
 *
 * Live: a broadcast that is sending gets an EventSource on its `/events` stream (Server-Sent Events,
 * authenticated by the session cookie). A browser keeps only about six connections per server over
 * HTTP/1.1, and each stream holds one, so at most LIVE_STREAMS run at once; the rest, and every
 * state change, come from a poll of the list every few seconds. A stream closes at a final state, and
 * opens again whenever a poll finds the broadcast sending again (an operator's retry of a failed send
 * reopens a completed broadcast). A paused broadcast has none: its figures barely move, and the poll
 * keeps them. A card whose stream is connected carries `data-live`.
 */
/* global EventSource, FormData, localStorage */
import { ApiError, api, path } from './api.js';
import { createBroadcastCard } from './broadcast-card.js';
import { el, plural, replace } from './dom.js';

const PAGE = 20;
const LIVE_STREAMS = 3;
const FINAL_STATES = new Set(['completed', 'cancelled']);
const TENANT_KEY = 'switchboard.console.tenant';

export function createBroadcasts({ picker, list, status, form, formStatus }) {
  let tenantId = null;
  let order = '';
  const cards = new Map();
  const streams = new Map();
  /** refresh() runs from the poll, the buttons, the form and retries: an older answer is dropped. */
  let reads = 0;
  let applied = 0;

  function markLive(id, isLive) {
    cards.get(id)?.root.toggleAttribute('data-live', isLive);
  }

  function closeStream(id) {
    streams.get(id)?.close();
    streams.delete(id);
    markLive(id, false);
  }

  function openStream(id) {
    const source = new EventSource(path`/api/tenants/${tenantId}/broadcasts/${id}/events`);
    source.addEventListener('open', () => markLive(id, true));
    source.addEventListener('progress', (event) => {
      const view = JSON.parse(event.data);
      cards.get(view.id)?.update(view);
      // The server ends the stream at the final state; closing first stops EventSource reconnecting.
      if (FINAL_STATES.has(view.state)) closeStream(id);
    });
    source.addEventListener('error', () => {
      if (streams.get(id) !== source) return;
      // Reconnecting (CONNECTING) or given up (CLOSED): either way the card is not live until it opens
      // again; a given-up stream is forgotten, so the next poll opens a new one if still sending.
      markLive(id, false);
      if (source.readyState === EventSource.CLOSED) streams.delete(id);
    });
    streams.set(id, source);
  }

  /** Streams for the newest broadcasts that are sending (or about to); none for the others. */
  function followLive(views) {
    const live = new Set(views.filter((view) => view.state === 'running' || view.state === 'pending').slice(0, LIVE_STREAMS).map((view) => view.id));
    for (const id of [...streams.keys()]) if (!live.has(id)) closeStream(id);
    for (const id of live) if (!streams.has(id)) openStream(id);
  }

  async function act(action, view, say) {
    try {
      const next = await api('POST', path`/api/tenants/${tenantId}/broadcasts/${view.id}/${action}`);
      cards.get(next.id)?.update(next);
    } catch (error) {
      say(error instanceof ApiError && error.status === 409 ? `Not possible now: ${error.message}` : error.message);
    }
    await refresh();
  }

  async function refresh() {
    if (!tenantId) return;
    const forTenant = tenantId;
    const read = ++reads;
    const page = await api('GET', `${path`/api/tenants/${forTenant}/broadcasts`}?limit=${PAGE}`);
    // A stale list could close the stream of a broadcast that a newer one found sending again.
    if (forTenant !== tenantId || read < applied) return;
    applied = read;
    for (const view of page.items) {
      const card = cards.get(view.id);
      if (!card) cards.set(view.id, createBroadcastCard(view, act));
      // A streamed card is fresher than this poll, which may have been read just before an event.
      else if (!streams.has(view.id)) card.update(view);
    }
    const ids = page.items.map((view) => view.id);
    for (const id of [...cards.keys()]) {
      if (!ids.includes(id)) {
        cards.delete(id);
        closeStream(id);
      }
    }
    const nextOrder = `${ids.join(',')}|${page.total}`;
    if (nextOrder !== order) {
      order = nextOrder;
      if (ids.length === 0) replace(list, el('p', { class: 'hint empty' }, 'This tenant has no broadcasts yet.'));
      else
        replace(
          list,
          page.total > ids.length ? el('p', { class: 'hint' }, `The newest ${ids.length} of ${page.total} broadcasts.`) : null,
          el('div', { class: 'cards' }, ids.map((id) => cards.get(id).root)),
        );
    }
    followLive(page.items);
  }

  function select(id) {
    for (const streamed of [...streams.keys()]) closeStream(streamed);
    cards.clear();
    order = '';
    tenantId = id || null;
    replace(list);
    if (tenantId) localStorage.setItem(TENANT_KEY, tenantId);
  }

  async function loadTenants() {
    const { tenants } = await api('GET', '/api/tenants');
    const wanted = tenantId ?? localStorage.getItem(TENANT_KEY);
    const known = tenants.map((tenant) => tenant.id);
    if (known.join(',') !== [...picker.options].map((option) => option.value).join(',')) {
      replace(picker, tenants.map((tenant) => el('option', { value: tenant.id }, tenant.name === tenant.id ? tenant.id : `${tenant.name} (${tenant.id})`)));
    }
    if (tenants.length === 0) {
      status.textContent = 'There are no tenants yet. Create one with the admin API (POST /api/tenants).';
      select(null);
      return;
    }
    status.textContent = '';
    const chosen = known.includes(wanted) ? wanted : known[0];
    picker.value = chosen;
    if (chosen !== tenantId) {
      select(chosen);
      await refresh();
    }
  }

  picker.addEventListener('change', () => {
    select(picker.value);
    void refresh().catch((error) => (status.textContent = error.message));
  });

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void create();
  });

  async function create() {
    const data = new FormData(form);
    const name = String(data.get('name') ?? '').trim();
    const text = String(data.get('text') ?? '');
    const recipients = String(data.get('recipients') ?? '')
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter(Boolean);
    const rate = String(data.get('ratePerMinute') ?? '').trim();
    const problem = !tenantId
      ? 'Choose a tenant first.'
      : !name
        ? 'Give the broadcast a name.'
        : !text.trim()
          ? 'Write the message to send.'
          : recipients.length === 0
            ? 'Add at least one recipient, one per line.'
            : rate && !/^[1-9][0-9]*$/.test(rate)
              ? 'Sends per minute must be a whole number from 1 up.'
              : null;
    if (problem) {
      formStatus.textContent = problem;
      return;
    }
    formStatus.textContent = 'Creating…';
    try {
      const created = await api('POST', path`/api/tenants/${tenantId}/broadcasts`, { name, text, recipients, ...(rate ? { ratePerMinute: Number(rate) } : {}) });
      form.reset();
      const removed = created.duplicatesRemoved > 0 ? ` (${plural(created.duplicatesRemoved, 'duplicate', 'duplicates')} removed)` : '';
      formStatus.textContent = `Broadcast “${created.name}” created for ${plural(created.total, 'recipient', 'recipients')}${removed}.`;
      await refresh();
    } catch (error) {
      formStatus.textContent = `Not created: ${error.message}`;
    }
  }

  return { loadTenants, refresh };
}
