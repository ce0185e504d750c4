/**
 * Recording a send the gateway accepted in one round trip (it took seven statements). Under the
 * outbound message's identity lock: the outbox row becomes `sent` with its WhatsApp id, the outbound
 * message is stored (or, when the gateway's fromMe echo stored it first, linked to the row), and the
 * conversation's last activity moves on. With `p_fast_only`, writes nothing and answers `o_slow` when
 * receipts for the message arrived before it: the caller then records the send in a transaction
 * that also applies them.
 */
export const up = /* sql */ `
CREATE FUNCTION switchboard_mark_sent(
  p_lock_key text,
  p_fast_only boolean,
  p_outbox_id bigint,
  p_tenant_id text,
  p_conversation_id bigint,
  p_to_jid text,
  p_text text,
  p_quoted_wa_message_id text,
  p_wa_message_id text
) RETURNS TABLE (o_slow boolean, o_message_id bigint) LANGUAGE plpgsql AS $fn$
DECLARE
  v_now timestamptz := clock_timestamp();
  v_message_id bigint;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended(p_lock_key, 0));
  IF p_fast_only AND EXISTS (SELECT 1 FROM pending_receipts pr
                              WHERE pr.tenant_id = p_tenant_id AND pr.remote_jid = p_to_jid
                                AND pr.wa_message_id = p_wa_message_id AND pr.from_me) THEN
    RETURN QUERY SELECT true, NULL::bigint;
    RETURN;
  END IF;
  UPDATE outbox o SET state = 'sent', wa_message_id = p_wa_message_id, sent_at = v_now, last_error = NULL
   WHERE o.id = p_outbox_id AND o.state = 'pending';
  INSERT INTO messages AS m (
    tenant_id, conversation_id, remote_jid, wa_message_id, from_me, sender_jid, kind, content_type,
    text, quoted_wa_message_id, sent_at, status, outbox_id
  ) VALUES (
    p_tenant_id, p_conversation_id, p_to_jid, p_wa_message_id, true, p_to_jid, 'text', 'conversation',
    p_text, p_quoted_wa_message_id, v_now, 1, p_outbox_id
  )
  ON CONFLICT ON CONSTRAINT messages_identity DO UPDATE SET outbox_id = p_outbox_id
  RETURNING m.id INTO v_message_id;
  UPDATE conversations c SET last_message_at = greatest(c.last_message_at, v_now) WHERE c.id = p_conversation_id;
  RETURN QUERY SELECT false, v_message_id;
END
$fn$;
`;
