/**
 * The reply bookkeeping that makes "answered exactly once" hold across retries, crashes and bursts.
 *
 * An inbound message that may be answered is stored `pending`; the first one of a burst *arms* the
 * conversation (`reply_job_message_id`) and schedules the one reply job of the burst. That job
 * *claims* the unanswered messages of its conversation under its own (deterministic) job id and
 * disarms it, in one transaction; a re-run of the same job finds its claims again. A later job takes
 * over the claims of an earlier one that has not committed yet (its AI call is slow, or waiting for
 * a retry), so the customer gets one reply to the whole burst; the earlier job then finds its claims
 * gone when it tries to commit, and sends nothing. The reply is committed as one outbox row, unique
 * per (tenant, last inbound message), in the same transaction that marks the claimed messages
 * answered. The claim and the commit are PL/pgSQL functions (migrations 0008, 0009, 0012): one round
 * trip each.
 */
import { sql } from 'kysely';
import type { Database } from '../database.js';
import type { Message, OutboxRow } from '../schema.js';

/** What a reply job reads of each message it claimed. */
export type ClaimedMessage = Pick<Message, 'id' | 'from_me' | 'sender_jid' | 'kind' | 'sent_at'>;

export type ClaimDecision =
  | { kind: 'superseded' }
  | { kind: 'wait'; untilEpochMs: number }
  | { kind: 'claimed'; messages: ClaimedMessage[] };

export type ClaimResult = ClaimDecision & {
  /**
   * The conversation's outbox rows still waiting to be sent, read before the claim: a reply an earlier
   * run committed may not have had its send enqueued (it crashed in between), so the job re-enqueues
   * them (deduplicated by their job ids).
   */
  unsentOutboxIds: string[];
};

export interface NewReply {
  tenantId: string;
  conversationId: string;
  toJid: string;
  text: string;
  /** The last inbound message the reply answers: the outbox row's natural key. */
  replyToMessageId: string;
  claimedBy: string;
}

export interface RepliesRepository {
  /**
   * Claims the conversation's unanswered messages for `claimedBy` (the job armed by
   * `triggerMessageId`) and disarms the conversation, or returns the claims this job already holds.
   * `wait` when the newest unanswered message is younger than `quietMs`; `superseded` when another
   * message's job is the armed one. Whatever the decision, it also lists the unsent outbox rows.
   */
  claim(options: { conversationId: string; triggerMessageId: string; claimedBy: string; quietMs: number }): Promise<ClaimResult>;
  /** Releases this job's claims as skipped or failed, with the reason, so they are never answered. */
  settle(claimedBy: string, state: 'skipped' | 'failed', note: string): Promise<number>;
  /**
   * Stores the reply as a pending outbox row and marks the claimed messages answered, atomically.
   * Returns null when this job no longer holds any claim (a later job took them over): nothing is
   * stored, nothing must be sent.
   */
  commit(reply: NewReply): Promise<OutboxRow | null>;
}

interface ClaimBurstRow {
  o_kind: 'claimed' | 'superseded' | 'wait';
  o_until: Date | null;
  o_unsent_outbox_ids: string[];
  o_message_id: string | null;
  o_from_me: boolean | null;
  o_sender_jid: string | null;
  o_message_kind: string | null;
  o_sent_at: Date | null;
}

function toClaimedMessage(row: ClaimBurstRow): ClaimedMessage | null {
  const { o_message_id: id, o_from_me: fromMe, o_sender_jid: senderJid, o_message_kind: kind, o_sent_at: sentAt } = row;
  if (id === null || fromMe === null || senderJid === null || kind === null || sentAt === null) return null;
  return { id, from_me: fromMe, sender_jid: senderJid, kind, sent_at: new Date(sentAt) };
}

export function createRepliesRepository(db: Database): RepliesRepository {
  return {
    claim: async ({ conversationId, triggerMessageId, claimedBy, quietMs }) => {
      // switchboard_claim_burst (migration 0012) lists the unsent outbox rows, then decides and claims
      // (0009) under the conversation's row lock, the lock stores take: a message stored before the
      // claim is claimed, one stored after it arms a new job. Then it returns the claimed messages.
      const { rows } = await sql<ClaimBurstRow>`
        select * from switchboard_claim_burst(${conversationId}, ${triggerMessageId}, ${claimedBy}, ${quietMs})`.execute(db);
      const first = rows[0];
      if (!first) throw new Error('switchboard_claim_burst returned no row');
      const unsentOutboxIds = first.o_unsent_outbox_ids;
      if (first.o_kind === 'superseded') return { kind: 'superseded', unsentOutboxIds };
      if (first.o_kind === 'wait') {
        return { kind: 'wait', untilEpochMs: first.o_until ? new Date(first.o_until).getTime() : Date.now(), unsentOutboxIds };
      }
      const messages: ClaimedMessage[] = [];
      for (const row of rows) {
        const message = toClaimedMessage(row);
        if (message) messages.push(message);
      }
      return { kind: 'claimed', messages, unsentOutboxIds };
    },

    settle: async (claimedBy, state, note) => {
      // Only this job's claims: a later job that took them over decides their fate.
      const result = await db
        .updateTable('messages')
        .set({ reply_state: state, reply_note: note })
        .where('reply_claimed_by', '=', claimedBy)
        .where('reply_state', '=', 'claimed')
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },

    commit: async (reply) => {
      // switchboard_commit_reply (migration 0008): the same row lock, the claim check, the outbox row
      // and the answered marks, in one statement.
      const { rows } = await sql<OutboxRow>`select * from switchboard_commit_reply(
        ${reply.tenantId}, ${reply.conversationId}, ${reply.toJid}, ${reply.text}, ${reply.replyToMessageId}, ${reply.claimedBy})`.execute(db);
      return rows[0] ?? null;
    },
  };
}
