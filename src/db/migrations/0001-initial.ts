/**
 * The initial schema. Every natural key of DESIGN.md rule 2 is a unique constraint here: the message
 * identity, the group member's receipt, the pending receipt. Redelivered work hits them and becomes a
 * no-op instead of a duplicate row.
 */
export const up = /* sql */ `
CREATE TABLE tenants (
  id             text PRIMARY KEY,
  name           text NOT NULL,
  timezone       text NOT NULL DEFAULT 'UTC',
  webhook_secret text,
  ai_enabled     boolean NOT NULL DEFAULT true,
  system_prompt  text,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE contacts (
  id         bigserial PRIMARY KEY,
  tenant_id  text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  jid        text NOT NULL,
  phone      text,
  push_name  text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, jid)
);

CREATE TABLE conversations (
  id              bigserial PRIMARY KEY,
  tenant_id       text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  remote_jid      text NOT NULL,
  chat_type       text NOT NULL,
  contact_id      bigint REFERENCES contacts(id) ON DELETE SET NULL,
  last_message_at timestamptz,
  created_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, remote_jid)
);
CREATE INDEX conversations_recent ON conversations (tenant_id, last_message_at DESC);

CREATE TABLE messages (
  id                   bigserial PRIMARY KEY,
  tenant_id            text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  conversation_id      bigint NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  remote_jid           text NOT NULL,
  wa_message_id        text NOT NULL,
  from_me              boolean NOT NULL,
  sender_jid           text NOT NULL,
  participant          text,
  kind                 text NOT NULL,
  content_type         text,
  text                 text,
  media                jsonb,
  location             jsonb,
  contacts             jsonb,
  quoted_wa_message_id text,
  target_wa_message_id text,
  target_from_me       boolean,
  reactions            jsonb NOT NULL DEFAULT '{}'::jsonb,
  sent_at              timestamptz NOT NULL,
  status               smallint,
  server_ack_at        timestamptz,
  delivered_at         timestamptz,
  read_at              timestamptz,
  played_at            timestamptz,
  deleted_at           timestamptz,
  edited_at            timestamptz,
  created_at           timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT messages_identity UNIQUE (tenant_id, remote_jid, wa_message_id, from_me)
);
CREATE INDEX messages_by_conversation ON messages (conversation_id, sent_at DESC);
CREATE INDEX messages_by_target ON messages (tenant_id, remote_jid, target_wa_message_id)
  WHERE target_wa_message_id IS NOT NULL;

-- Per-member receipts of a message sent to a group.
CREATE TABLE message_receipts (
  message_id   bigint NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  user_jid     text NOT NULL,
  status       smallint NOT NULL,
  delivered_at timestamptz,
  read_at      timestamptz,
  played_at    timestamptz,
  PRIMARY KEY (message_id, user_jid)
);

-- Receipts that arrived before their message was stored; applied when it is.
CREATE TABLE pending_receipts (
  id            bigserial PRIMARY KEY,
  tenant_id     text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  remote_jid    text NOT NULL,
  wa_message_id text NOT NULL,
  from_me       boolean NOT NULL,
  user_jid      text NOT NULL DEFAULT '',
  status        smallint NOT NULL,
  status_at     timestamptz,
  created_at    timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT pending_receipts_identity UNIQUE (tenant_id, remote_jid, wa_message_id, from_me, status, user_jid)
);
`;
