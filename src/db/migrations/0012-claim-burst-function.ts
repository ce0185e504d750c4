/**
 * A reply job's opening in one round trip instead of three. Before claiming, the job looked for its
 * conversation's unsent outbox rows (to re-enqueue their sends after a crash), then called
 * `switchboard_claim_reply` (0009), then read back the messages it had claimed. A reply cost the
 * worker about 3.7 ms of CPU and PostgreSQL about 2.7 ms, and every statement is a share of that.
 *
 * This function returns all three: the unsent outbox rows' ids (read before the claim, as the job
 * did), the claim's decision (0009's, unchanged), and for `claimed` one row per claimed message with
 * what the job reads of it. Without claimed messages (or for `wait` / `superseded`) it returns one row
 * whose message columns are null.
 */
export const up = /* sql */ `
CREATE FUNCTION switchboard_claim_burst(
  p_conversation_id bigint,
  p_trigger_message_id bigint,
  p_claimed_by text,
  p_quiet_ms integer
) RETURNS TABLE (
  o_kind text,
  o_until timestamptz,
  -- text, not bigint[]: ids are strings everywhere in the code, and both drivers parse text[] alike.
  o_unsent_outbox_ids text[],
  o_message_id bigint,
  o_from_me boolean,
  o_sender_jid text,
  o_message_kind text,
  o_sent_at timestamptz
) LANGUAGE plpgsql AS $fn$
DECLARE
  v_unsent text[];
  v_kind text;
  v_until timestamptz;
BEGIN
  SELECT coalesce(array_agg(o.id::text ORDER BY o.id), '{}') INTO v_unsent
    FROM outbox o WHERE o.conversation_id = p_conversation_id AND o.state = 'pending';
  SELECT c.o_kind, c.o_until INTO v_kind, v_until
    FROM switchboard_claim_reply(p_conversation_id, p_trigger_message_id, p_claimed_by, p_quiet_ms) c;
  IF v_kind = 'claimed' THEN
    RETURN QUERY SELECT v_kind, v_until, v_unsent, m.id, m.from_me, m.sender_jid, m.kind, m.sent_at
      FROM messages m
     WHERE m.conversation_id = p_conversation_id AND m.reply_state = 'claimed' AND m.reply_claimed_by = p_claimed_by
     ORDER BY m.id;
    IF FOUND THEN RETURN; END IF;
  END IF;
  RETURN QUERY SELECT v_kind, v_until, v_unsent, NULL::bigint, NULL::boolean, NULL::text, NULL::text, NULL::timestamptz;
END
$fn$;
`;
