/**
 * Reminders: a text to send to a chat at a given time. The reminder turns into one outbox row when
 * it falls due (the `reminders_tick` job), and from then on the outbox's own lifecycle (pending →
 * sent | failed) tells whether it was delivered; the reminder itself only records `queued`.
 *
 * States: pending → queued (its outbox row exists) | missed (it fell due while nothing ran, longer
 * ago than REMINDER_MAX_LATENESS_MINUTES: a late "your appointment is in 1 hour" is worse than none)
 * | cancelled (DELETE while pending). `outbox_one_send_per_reminder` makes "one send per reminder,
 * ever" a database fact, whatever ticks overlap or re-run.
 */
export const up = /* sql */ `
CREATE TABLE reminders (
  id         bigserial PRIMARY KEY,
  tenant_id  text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  to_jid     text NOT NULL,
  text       text NOT NULL,
  due_at     timestamptz NOT NULL,
  state      text NOT NULL DEFAULT 'pending',
  -- CASCADE: once its outbox row is deleted (retention), a queued reminder could no longer tell
  -- whether it was sent; it goes with the row rather than read "queued" forever.
  outbox_id  bigint REFERENCES outbox(id) ON DELETE CASCADE,
  note       text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT reminders_state CHECK (state IN ('pending', 'queued', 'missed', 'cancelled'))
);
-- What each tick scans: only the pending ones, so the index stays as small as the backlog.
CREATE INDEX reminders_due ON reminders (due_at, id) WHERE state = 'pending';
-- The admin API's list, per tenant.
CREATE INDEX reminders_by_tenant ON reminders (tenant_id, due_at DESC, id DESC);

ALTER TABLE outbox
  ADD COLUMN reminder_id bigint REFERENCES reminders(id) ON DELETE SET NULL,
  ADD CONSTRAINT outbox_one_send_per_reminder UNIQUE (tenant_id, reminder_id);
-- Reminder sends not yet delivered: each tick re-enqueues them, in case a tick died between
-- committing the row and enqueueing its send.
CREATE INDEX outbox_unsent_reminders ON outbox (id) WHERE reminder_id IS NOT NULL AND state = 'pending';
`;
