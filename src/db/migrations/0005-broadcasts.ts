/**
 * Broadcasts: one text to many chats, sent at a per-tenant rate, resumable, never twice to a recipient.
 *
 * A broadcast's recipients are rows of their own (`broadcast_recipients`, unique per chat within the
 * broadcast); each recipient becomes at most one outbox row (`outbox.broadcast_recipient_id` is
 * unique), whose id is the gateway's idempotency key, so "one send per recipient, ever" is a database
 * fact however jobs re-run. Progress is counted from these rows, never kept in memory.
 *
 * Broadcast states: pending → running → paused ↔ running → completed | cancelled.
 * Recipient states: pending → sent | failed (its outbox row's outcome) | skipped (cancelled first).
 * A recipient with an `outbox_id` is claimed: its send goes ahead even if the broadcast is paused or
 * cancelled meanwhile.
 */
export const up = /* sql */ `
ALTER TABLE tenants ADD COLUMN broadcast_rate_per_minute integer CHECK (broadcast_rate_per_minute > 0);

CREATE TABLE broadcasts (
  id                 bigserial PRIMARY KEY,
  tenant_id          text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  name               text NOT NULL,
  text               text NOT NULL,
  state              text NOT NULL DEFAULT 'pending',
  total              integer NOT NULL,
  duplicates_removed integer NOT NULL DEFAULT 0,
  -- null: the tenant's override, else BROADCAST_RATE_PER_MINUTE.
  rate_per_minute    integer CHECK (rate_per_minute > 0),
  created_at         timestamptz NOT NULL DEFAULT now(),
  started_at         timestamptz,
  finished_at        timestamptz,
  updated_at         timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT broadcasts_state CHECK (state IN ('pending', 'running', 'paused', 'completed', 'cancelled'))
);
CREATE INDEX broadcasts_by_tenant ON broadcasts (tenant_id, id DESC);

CREATE TABLE broadcast_recipients (
  id           bigserial PRIMARY KEY,
  broadcast_id bigint NOT NULL REFERENCES broadcasts(id) ON DELETE CASCADE,
  tenant_id    text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  to_jid       text NOT NULL,
  state        text NOT NULL DEFAULT 'pending',
  outbox_id    bigint REFERENCES outbox(id) ON DELETE SET NULL,
  error        text,
  CONSTRAINT broadcast_recipients_one_per_chat UNIQUE (broadcast_id, to_jid),
  CONSTRAINT broadcast_recipients_state CHECK (state IN ('pending', 'sent', 'failed', 'skipped'))
);
-- Progress counts by state, and the fan-out's walk through the pending ones.
CREATE INDEX broadcast_recipients_by_state ON broadcast_recipients (broadcast_id, state, id);

ALTER TABLE outbox
  ADD COLUMN broadcast_recipient_id bigint REFERENCES broadcast_recipients(id) ON DELETE SET NULL,
  ADD CONSTRAINT outbox_one_send_per_broadcast_recipient UNIQUE (broadcast_recipient_id);

-- Delivered / read counts join a broadcast's outbox rows to the messages they became.
CREATE INDEX messages_by_outbox ON messages (outbox_id) WHERE outbox_id IS NOT NULL;
`;
