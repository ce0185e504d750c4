/**
 * The reply bookkeeping that makes "answered exactly once" hold across retries, crashes and bursts.
 *
 * An inbound message that may be answered is stored `pending`. A reply job *claims* the unanswered
 * messages of its conversation under its own (deterministic) job id; a re-run of the same job finds
 * its claims again. A later job takes over the claims of an earlier one that has not committed yet
 * (its AI call is slow, or waiting for a retry), so the customer gets one reply to the whole burst;
 * the earlier job then finds its claims gone when it tries to commit, and sends nothing. The reply
 * is committed as one outbox row, unique per (tenant, last inbound message), in the same transaction
 * that marks the claimed messages answered.
 */
import { sql, type Transaction } from 'kysely';
import type { Database } from '../database.js';
import type { DB, Message, OutboxRow } from '../schema.js';

export type ClaimResult = { kind: 'superseded' } | { kind: 'claimed'; messages: Message[] };

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
   * Claims the conversation's unanswered messages for `claimedBy`, unless a newer unanswered message
   * exists whose own job will answer them all (the debounce), or returns the claims this job already
   * holds.
   */
  claim(options: { conversationId: string; triggerMessageId: string; claimedBy: string }): Promise<ClaimResult>;
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

async function lockConversation(trx: Transaction<DB>, conversationId: string): Promise<void> {
  await sql`select pg_advisory_xact_lock(hashtextextended(${`conversation:${conversationId}`}, 0))`.execute(trx);
}

export function createRepliesRepository(db: Database): RepliesRepository {
  return {
    claim: ({ conversationId, triggerMessageId, claimedBy }) =>
      db.transaction().execute(async (trx): Promise<ClaimResult> => {
        await lockConversation(trx, conversationId);
        const mine = await trx
          .selectFrom('messages')
          .selectAll()
          .where('conversation_id', '=', conversationId)
          .where('reply_state', '=', 'claimed')
          .where('reply_claimed_by', '=', claimedBy)
          .orderBy('id')
          .execute();
        if (mine.length > 0) return { kind: 'claimed', messages: mine };
        // A newer unanswered message (pending, or already claimed by its own job) means a later job
        // answers the whole burst. Only the job of the newest message goes on, and may take over
        // older jobs' claims; an older job never takes a newer one's.
        const newer = await trx
          .selectFrom('messages')
          .select('id')
          .where('conversation_id', '=', conversationId)
          .where('reply_state', 'in', ['pending', 'claimed'])
          .where('id', '>', triggerMessageId)
          .limit(1)
          .executeTakeFirst();
        if (newer) return { kind: 'superseded' };
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

    commit: (reply) =>
      db.transaction().execute(async (trx) => {
        await lockConversation(trx, reply.conversationId);
        const held = await trx
          .selectFrom('messages')
          .select('id')
          .where('conversation_id', '=', reply.conversationId)
          .where('reply_claimed_by', '=', reply.claimedBy)
          .where('reply_state', '=', 'claimed')
          .execute();
        if (held.length === 0) return null;
        const inserted = await trx
          .insertInto('outbox')
          .values({
            tenant_id: reply.tenantId,
            conversation_id: reply.conversationId,
            to_jid: reply.toJid,
            text: reply.text,
            purpose: 'reply',
            reply_to_message_id: reply.replyToMessageId,
            quoted_wa_message_id: null,
            wa_message_id: null,
            last_error: null,
            sent_at: null,
          })
          .onConflict((oc) => oc.constraint('outbox_one_reply_per_message').doNothing())
          .returningAll()
          .executeTakeFirst();
        const outbox =
          inserted ??
          (await trx
            .selectFrom('outbox')
            .selectAll()
            .where('tenant_id', '=', reply.tenantId)
            .where('reply_to_message_id', '=', reply.replyToMessageId)
            .executeTakeFirstOrThrow());
        await trx
          .updateTable('messages')
          .set({ reply_state: 'answered', outbox_id: outbox.id })
          .where('conversation_id', '=', reply.conversationId)
          .where('reply_claimed_by', '=', reply.claimedBy)
          .where('reply_state', '=', 'claimed')
          .execute();
        return outbox;
      }),

    pendingOutbox: (conversationId) =>
      db.selectFrom('outbox').selectAll().where('conversation_id', '=', conversationId).where('state', '=', 'pending').orderBy('id').execute(),
  };
}
