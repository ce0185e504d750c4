/**
 * Storing a batch of messages in one statement: the worker's concurrent `webhook_process` jobs hand
 * their messages to one call (see message-store-batcher.ts). Each array holds one argument of
 * `switchboard_store_message` (0007) per message; the function calls it for each message in the
 * given order, fast path only, and answers one row per message with its position (`o_ord`, from 1).
 *
 * It first takes every message's identity lock, in one global order (the sorted keys), before any
 * row lock: a reaction's or receipt's transaction (identity first, then rows) then queues behind the
 * batch instead of holding an identity the batch waits for while waiting for a row the batch holds.
 */
export const up = /* sql */ `
CREATE FUNCTION switchboard_store_messages(
  p_lock_keys text[],
  p_tenant_ids text[],
  p_remote_jids text[],
  p_wa_message_ids text[],
  p_from_mes boolean[],
  p_chat_types text[],
  p_contact_jids text[],
  p_contact_phones text[],
  p_contact_push_names text[],
  p_sender_jids text[],
  p_participants text[],
  p_kinds text[],
  p_content_types text[],
  p_texts text[],
  p_medias text[],
  p_locations text[],
  p_contacts text[],
  p_quoted_wa_message_ids text[],
  p_target_wa_message_ids text[],
  p_target_from_mes boolean[],
  p_sent_ats timestamptz[],
  p_statuses smallint[],
  p_awaits_replies boolean[],
  p_received_ats timestamptz[]
) RETURNS TABLE (
  o_ord integer,
  o_slow boolean,
  o_is_new boolean,
  o_message_id bigint,
  o_conversation_id bigint,
  o_reply_state text,
  o_reply_job_message_id bigint
) LANGUAGE plpgsql AS $fn$
DECLARE
  v_key text;
BEGIN
  FOR v_key IN SELECT k FROM unnest(p_lock_keys) AS k ORDER BY k LOOP
    PERFORM pg_advisory_xact_lock(hashtextextended(v_key, 0));
  END LOOP;

  FOR i IN 1 .. coalesce(array_length(p_lock_keys, 1), 0) LOOP
    RETURN QUERY SELECT i, s.* FROM switchboard_store_message(
      p_lock_keys[i], true, p_tenant_ids[i], p_remote_jids[i], p_wa_message_ids[i], p_from_mes[i],
      p_chat_types[i], p_contact_jids[i], p_contact_phones[i], p_contact_push_names[i], p_sender_jids[i],
      p_participants[i], p_kinds[i], p_content_types[i], p_texts[i], p_medias[i]::jsonb,
      p_locations[i]::jsonb, p_contacts[i]::jsonb, p_quoted_wa_message_ids[i], p_target_wa_message_ids[i],
      p_target_from_mes[i], p_sent_ats[i], p_statuses[i], p_awaits_replies[i], p_received_ats[i]) AS s;
  END LOOP;
END
$fn$;
`;
