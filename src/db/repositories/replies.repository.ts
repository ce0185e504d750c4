/**
 * The reply bookkeeping that makes "answered exactly once" hold across retries, crashes and bursts.
 *
 * An inbound message that may be answered is stored `pending`; the first one of a burst *arms* the
 * conversation (`reply_job_message_id`) and schedules the one reply job of the burst. That job
 * *claims* the unanswered messages of its conversation under its own (deterministic) job id and
 * disarms it, in one transaction; a re-run of the same job finds its claims again. A later job takes over the claims of an earlier one that has not committed yet
 * (its AI call is slow, or waiting for a retry), so the customer gets one reply to the whole burst;
 * the earlier job then finds its claims gone when it tries to commit, and sends nothing. The reply
 * is committed as one outbox row, unique per (tenant, last inbound message), in the same transaction
 * that marks the claimed messages answered.
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
    claim: ({ conversationId, triggerMessageId, claimedBy, quietMs }) =>
      db.transaction().execute(async (trx): Promise<ClaimResult> => {
        // The row lock orders this claim against stores of the same conversation (their upsert locks
        // the row) and other jobs' claims and commits: a message stored before it is claimed here, one
        // stored after it arms a new job.
        const conversation = await trx
          .selectFrom('conversations')
          .select('reply_job_message_id')
          .where('id', '=', conversationId)
          .forUpdate()
          .executeTakeFirst();
        const mine = await trx
          .selectFrom('messages')
          .selectAll()
          .where('conversation_id', '=', conversationId)
          .where('reply_state', '=', 'claimed')
          .where('reply_claimed_by', '=', claimedBy)
          .orderBy('id')
          .execute();
        if (mine.length > 0) return { kind: 'claimed', messages: mine };
        const armed = conversation?.reply_job_message_id ?? null;
        // Another message's job is armed to answer the burst (a job scheduled before the mark existed).
        if (armed !== null && armed !== triggerMessageId) return { kind: 'superseded' };
        if (quietMs > 0) {
          // The debounce: answer once the burst has been quiet for `quietMs` since its newest message.
          const newest = await trx
            .selectFrom('messages')
            .select((eb) => eb.fn.max(sql<Date>`coalesce(received_at, sent_at)`).as('at'))
            .where('conversation_id', '=', conversationId)
            .where('reply_state', '=', 'pending')
            .executeTakeFirst();
          const quietAt = newest?.at ? new Date(newest.at).getTime() + quietMs : 0;
          if (quietAt > Date.now()) return { kind: 'wait', untilEpochMs: quietAt };
        }
        if (armed !== null) await trx.updateTable('conversations').set({ reply_job_message_id: null }).where('id', '=', conversationId).execute();
        // Older jobs' uncommitted claims are taken over: one reply answers the whole burst.
        const claimed = await trx
          .updateTable('messages')
          .set({ reply_state: 'claimed', reply_claimed_by: claimedBy })
          .where('conversation_id', '=', conversationId)
          .where('reply_state', 'in', ['pending', 'claimed'])
          .returningAll()
          .execute();
        return { kind: 'claimed', messages: claimed.sort((a, b) => Number(a.id) - Number(b.id)) };
      }),

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
