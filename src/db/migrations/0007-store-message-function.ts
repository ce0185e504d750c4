/**
 * Storing a message in one round trip. A webhook job used to spend eight statements on it (begin, the
 * identity lock, the contact, the conversation, the message, two look-ups for things that arrived
 * before it, commit); the worker's CPU went mostly to the driver and the query builder. This function
 * does the common part server-side, under the same identity lock and in the caller's transaction:
 *
 * - locks the message identity (`p_lock_key`, computed by the caller exactly as `lockIdentity` does);
 * - with `p_fast_only`, returns `o_slow` and writes nothing when receipts or reactions/edits/revokes
 *   arrived before this message: the caller then stores it in a transaction that also applies them;
 * - upserts the contact (when `p_contact_jid` is given) and the conversation (which locks its row
 *   until commit, ordering this store against a reply job's claim), inserts the message unless its
 *   identity exists, and arms the conversation's reply job for the first unanswered message of a
 *   burst (see 0006).
 */
export const up = /* sql */ `
CREATE FUNCTION switchboard_store_message(
  p_lock_key text,
  p_fast_only boolean,
  p_tenant_id text,
  p_remote_jid text,
  p_wa_message_id text,
  p_from_me boolean,
  p_chat_type text,
  p_contact_jid text,
  p_contact_phone text,
  p_contact_push_name text,
  p_sender_jid text,
  p_participant text,
  p_kind text,
  p_content_type text,
  p_text text,
  p_media jsonb,
  p_location jsonb,
  p_contacts jsonb,
  p_quoted_wa_message_id text,
  p_target_wa_message_id text,
  p_target_from_me boolean,
  p_sent_at timestamptz,
  p_status smallint,
  p_awaits_reply boolean,
  p_received_at timestamptz
) RETURNS TABLE (
  o_slow boolean,
  o_is_new boolean,
  o_message_id bigint,
  o_conversation_id bigint,
  o_reply_state text,
  o_reply_job_message_id bigint
) LANGUAGE plpgsql AS $fn$
DECLARE
  v_contact_id bigint;
  v_conversation_id bigint;
  v_armed bigint;
  v_message_id bigint;
  v_reply_state text;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended(p_lock_key, 0));

  IF p_fast_only AND (
    EXISTS (SELECT 1 FROM pending_receipts pr
             WHERE pr.tenant_id = p_tenant_id AND pr.remote_jid = p_remote_jid
               AND pr.wa_message_id = p_wa_message_id AND pr.from_me = p_from_me)
    OR EXISTS (SELECT 1 FROM messages a
             WHERE a.tenant_id = p_tenant_id AND a.remote_jid = p_remote_jid
               AND a.target_wa_message_id = p_wa_message_id AND a.target_from_me = p_from_me)
  ) THEN
    RETURN QUERY SELECT true, false, NULL::bigint, NULL::bigint, NULL::text, NULL::bigint;
    RETURN;
  END IF;

  IF p_contact_jid IS NOT NULL THEN
    INSERT INTO contacts AS c (tenant_id, jid, phone, push_name)
    VALUES (p_tenant_id, p_contact_jid, p_contact_phone, p_contact_push_name)
    ON CONFLICT (tenant_id, jid) DO UPDATE SET
      phone = coalesce(excluded.phone, c.phone),
      push_name = coalesce(excluded.push_name, c.push_name),
      updated_at = now()
    RETURNING c.id INTO v_contact_id;
  END IF;

  INSERT INTO conversations AS cv (tenant_id, remote_jid, chat_type, contact_id, last_message_at)
  VALUES (p_tenant_id, p_remote_jid, p_chat_type, CASE WHEN p_chat_type = 'direct' THEN v_contact_id END, p_sent_at)
  ON CONFLICT (tenant_id, remote_jid) DO UPDATE SET
    last_message_at = greatest(cv.last_message_at, excluded.last_message_at),
    contact_id = coalesce(cv.contact_id, excluded.contact_id)
  RETURNING cv.id, cv.reply_job_message_id INTO v_conversation_id, v_armed;

  INSERT INTO messages AS m (
    tenant_id, conversation_id, remote_jid, wa_message_id, from_me, sender_jid, participant, kind,
    content_type, text, media, location, contacts, quoted_wa_message_id, target_wa_message_id,
    target_from_me, sent_at, status, reply_state, received_at, outbox_id
  ) VALUES (
    p_tenant_id, v_conversation_id, p_remote_jid, p_wa_message_id, p_from_me, p_sender_jid, p_participant, p_kind,
    p_content_type, p_text, p_media, p_location, p_contacts, p_quoted_wa_message_id, p_target_wa_message_id,
    p_target_from_me, p_sent_at, p_status, CASE WHEN p_awaits_reply THEN 'pending' END, p_received_at,
    -- Our own send posted back by the gateway: linked to its outbox row, so it does not read as a
    -- person typing on the business phone.
    CASE WHEN p_from_me THEN (SELECT o.id FROM outbox o WHERE o.tenant_id = p_tenant_id AND o.wa_message_id = p_wa_message_id LIMIT 1) END
  )
  ON CONFLICT ON CONSTRAINT messages_identity DO NOTHING
  RETURNING m.id, m.reply_state INTO v_message_id, v_reply_state;

  IF v_message_id IS NULL THEN
    SELECT m.id, m.reply_state INTO v_message_id, v_reply_state FROM messages m
     WHERE m.tenant_id = p_tenant_id AND m.remote_jid = p_remote_jid
       AND m.wa_message_id = p_wa_message_id AND m.from_me = p_from_me;
    RETURN QUERY SELECT false, false, v_message_id, v_conversation_id, v_reply_state,
      CASE WHEN v_reply_state = 'pending' THEN v_armed END;
    RETURN;
  END IF;

  IF v_reply_state = 'pending' AND v_armed IS NULL THEN
    UPDATE conversations SET reply_job_message_id = v_message_id WHERE id = v_conversation_id;
    v_armed := v_message_id;
  END IF;
  RETURN QUERY SELECT false, true, v_message_id, v_conversation_id, v_reply_state,
    CASE WHEN v_reply_state = 'pending' THEN v_armed END;
END
$fn$;
`;
