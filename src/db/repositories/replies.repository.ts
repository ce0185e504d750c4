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
 * answered. The claim and the commit are PL/pgSQL functions (migrations 0008, 0009): one round trip
 * each.
 */
import { sql } from 'kysely';
import type { Database } from '../database.js';
import type { Message, OutboxRow } from '../schema.js';

export type ClaimResult =
  | { kind: 'superseded' }
  | { kind: 'wait'; untilEpochMs: number }
  | { kind: 'claimed'; messages: Message[] };

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
   * message's job is the armed one.
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
  /** Outbox rows of the conversation still waiting to be sent (a re-run re-enqueues their sends). */
  pendingOutbox(conversationId: string): Promise<OutboxRow[]>;
}

export function createRepliesRepository(db: Database): RepliesRepository {
  return {
    claim: async ({ conversationId, triggerMessageId, claimedBy, quietMs }) => {
      // switchboard_claim_reply (migration 0009) decides and claims under the conversation's row lock,
      // the lock stores take: a message stored before the claim is claimed, one stored after it arms
      // a new job.
      const { rows } = await sql<{ o_kind: 'claimed' | 'superseded' | 'wait'; o_until: Date | null }>`
        select * from switchboard_claim_reply(${conversationId}, ${triggerMessageId}, ${claimedBy}, ${quietMs})`.execute(db);
      const decision = rows[0];
      if (!decision) throw new Error('switchboard_claim_reply returned no row');
      if (decision.o_kind === 'superseded') return { kind: 'superseded' };
      if (decision.o_kind === 'wait') return { kind: 'wait', untilEpochMs: decision.o_until ? new Date(decision.o_until).getTime() : Date.now() };
      const messages = await db
        .selectFrom('messages')
        .selectAll()
        .where('conversation_id', '=', conversationId)
        .where('reply_state', '=', 'claimed')
        .where('reply_claimed_by', '=', claimedBy)
        .orderBy('id')
        .execute();
      return { kind: 'claimed', messages };
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

    pendingOutbox: (conversationId) =>
      db.selectFrom('outbox').selectAll().where('conversation_id', '=', conversationId).where('state', '=', 'pending').orderBy('id').execute(),
  };
}
