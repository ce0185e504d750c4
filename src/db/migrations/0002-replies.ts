/**
 * AI replies and the outbox (DESIGN.md rule 2, third layer). An inbound message that may be answered
 * carries a `reply_state`; the reply job claims pending messages, and one outbox row records "this text
 * must be sent once to this chat". The outbox row is unique per (tenant, inbound message it answers),
 * so a re-run can never create a second reply, and its id is the gateway's idempotency key.
 */
export const up = /* sql */ `
ALTER TABLE tenants
  ADD COLUMN reply_template   text,
  ADD COLUMN voice_note_reply text,
  ADD COLUMN groups_enabled   boolean NOT NULL DEFAULT false;

ALTER TABLE conversations
  ADD COLUMN ai_enabled         boolean,
  ADD COLUMN summary            text,
  ADD COLUMN summary_updated_at timestamptz;

CREATE TABLE outbox (
  id                   bigserial PRIMARY KEY,
  tenant_id            text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  conversation_id      bigint NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  to_jid               text NOT NULL,
  text                 text NOT NULL,
  purpose              text NOT NULL,
  reply_to_message_id  bigint REFERENCES messages(id) ON DELETE SET NULL,
  quoted_wa_message_id text,
  state                text NOT NULL DEFAULT 'pending',
  wa_message_id        text,
  attempts             integer NOT NULL DEFAULT 0,
  last_error           text,
  created_at           timestamptz NOT NULL DEFAULT now(),
  sent_at              timestamptz,
  CONSTRAINT outbox_one_reply_per_message UNIQUE (tenant_id, reply_to_message_id),
  CONSTRAINT outbox_state CHECK (state IN ('pending', 'sent', 'failed'))
);
CREATE INDEX outbox_by_conversation ON outbox (conversation_id, state);
CREATE INDEX outbox_by_wa_message ON outbox (tenant_id, wa_message_id) WHERE wa_message_id IS NOT NULL;

ALTER TABLE messages
  ADD COLUMN reply_state       text,
  ADD COLUMN reply_claimed_by  text,
  ADD COLUMN reply_note        text,
  ADD COLUMN outbox_id         bigint REFERENCES outbox(id) ON DELETE SET NULL,
  ADD CONSTRAINT messages_reply_state CHECK (reply_state IN ('pending', 'claimed', 'answered', 'skipped', 'failed'));
CREATE INDEX messages_awaiting_reply ON messages (conversation_id, id) WHERE reply_state IN ('pending', 'claimed');
CREATE INDEX messages_human_outbound ON messages (conversation_id, sent_at) WHERE from_me AND outbox_id IS NULL;
`;
