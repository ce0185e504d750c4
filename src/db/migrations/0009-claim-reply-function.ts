/**
 * Claiming a burst in one round trip (it took six statements). Under the conversation's row lock:
 * `claimed` when this job already holds claims (a re-run); `superseded` when another message's job is
 * the armed one; `wait` (with when) while the newest unanswered message is younger than the quiet
 * period; otherwise disarm the conversation, claim every unanswered message (taking over uncommitted
 * claims of older jobs) and answer `claimed`. The caller then reads its claimed messages.
 */
export const up = /* sql */ `
CREATE FUNCTION switchboard_claim_reply(
  p_conversation_id bigint,
  p_trigger_message_id bigint,
  p_claimed_by text,
  p_quiet_ms integer
) RETURNS TABLE (o_kind text, o_until timestamptz) LANGUAGE plpgsql AS $fn$
DECLARE
  v_armed bigint;
  v_quiet_at timestamptz;
BEGIN
  SELECT c.reply_job_message_id INTO v_armed FROM conversations c WHERE c.id = p_conversation_id FOR UPDATE;
  IF EXISTS (SELECT 1 FROM messages m
              WHERE m.conversation_id = p_conversation_id AND m.reply_state = 'claimed'
                AND m.reply_claimed_by = p_claimed_by) THEN
    RETURN QUERY SELECT 'claimed'::text, NULL::timestamptz;
    RETURN;
  END IF;
  IF v_armed IS NOT NULL AND v_armed <> p_trigger_message_id THEN
    RETURN QUERY SELECT 'superseded'::text, NULL::timestamptz;
    RETURN;
  END IF;
  IF p_quiet_ms > 0 THEN
    SELECT max(coalesce(m.received_at, m.sent_at)) + make_interval(secs => p_quiet_ms / 1000.0) INTO v_quiet_at
      FROM messages m WHERE m.conversation_id = p_conversation_id AND m.reply_state = 'pending';
    IF v_quiet_at > clock_timestamp() THEN
      RETURN QUERY SELECT 'wait'::text, v_quiet_at;
      RETURN;
    END IF;
  END IF;
  IF v_armed IS NOT NULL THEN
    UPDATE conversations c SET reply_job_message_id = NULL WHERE c.id = p_conversation_id;
  END IF;
  UPDATE messages m SET reply_state = 'claimed', reply_claimed_by = p_claimed_by
   WHERE m.conversation_id = p_conversation_id AND m.reply_state IN ('pending', 'claimed');
  RETURN QUERY SELECT 'claimed'::text, NULL::timestamptz;
END
$fn$;
`;
