/**
 * Committing a reply in one round trip (it took six statements): under the conversation's row lock
 * (the lock stores and claims take too), and only while the job still holds claims, store the reply
 * as one outbox row (unique per last inbound message) and mark the claimed messages answered. No row
 * comes back when a later job took the claims over: nothing is stored and nothing must be sent.
 */
export const up = /* sql */ `
CREATE FUNCTION switchboard_commit_reply(
  p_tenant_id text,
  p_conversation_id bigint,
  p_to_jid text,
  p_text text,
  p_reply_to_message_id bigint,
  p_claimed_by text
) RETURNS SETOF outbox LANGUAGE plpgsql AS $fn$
DECLARE
  v_outbox outbox;
BEGIN
  PERFORM 1 FROM conversations c WHERE c.id = p_conversation_id FOR UPDATE;
  IF NOT EXISTS (SELECT 1 FROM messages m
                  WHERE m.conversation_id = p_conversation_id AND m.reply_claimed_by = p_claimed_by
                    AND m.reply_state = 'claimed') THEN
    RETURN;
  END IF;
  INSERT INTO outbox AS o (tenant_id, conversation_id, to_jid, text, purpose, reply_to_message_id)
  VALUES (p_tenant_id, p_conversation_id, p_to_jid, p_text, 'reply', p_reply_to_message_id)
  ON CONFLICT ON CONSTRAINT outbox_one_reply_per_message DO NOTHING
  RETURNING o.* INTO v_outbox;
  IF v_outbox.id IS NULL THEN
    SELECT o.* INTO v_outbox FROM outbox o
     WHERE o.tenant_id = p_tenant_id AND o.reply_to_message_id = p_reply_to_message_id;
  END IF;
  UPDATE messages m SET reply_state = 'answered', outbox_id = v_outbox.id
   WHERE m.conversation_id = p_conversation_id AND m.reply_claimed_by = p_claimed_by AND m.reply_state = 'claimed';
  RETURN NEXT v_outbox;
END
$fn$;
`;
