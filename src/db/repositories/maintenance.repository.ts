/**
 * Housekeeping queries for the periodic jobs: which conversations still need a summary, receipts whose
 * message has appeared, and retention. Unlike the other repositories these run across all tenants,
 * because they serve a schedule, not a tenant's request; each returns tenant ids where the caller
 * acts per tenant.
 *
 * Every query is bounded by a `limit` and the caller loops: one huge statement would hold locks and
 * bloat a transaction for minutes, while small batches let webhooks and jobs interleave.
 */
import { sql } from 'kysely';
import type { Database } from '../database.js';
import { findMessageId, lockIdentity, type MessageIdentity } from './message-identity.js';
import { applyPendingReceipts } from './receipts.repository.js';

export interface IdleConversation {
  tenantId: string;
  conversationId: string;
  /** The summary job's trigger: the same id the message's own summary job used, so the enqueue dedupes. */
  newestMessageId: string;
}

export interface IdleConversationsPage {
  /** Ignore conversations quiet since before this: see sessions-sweep.job.ts. */
  notBefore?: Date;
  /** Keyset cursor: only conversations with a larger id. */
  afterId?: string;
}

export interface ReconcileResult {
  /** Message identities that had pending receipts and a stored message. */
  messages: number;
  /** Receipts applied to them. */
  receipts: number;
}

export interface RetentionCutoffs {
  /** Messages, finished outbox rows and emptied conversations older than this go. */
  cutoff: Date;
  /** Pending receipts older than this go (their message never came); never earlier than `cutoff`. */
  pendingReceiptsBefore: Date;
}

export interface RetentionCounts {
  messages: number;
  outbox: number;
  pendingReceipts: number;
  conversations: number;
}

export interface MaintenanceRepository {
  /**
   * Direct conversations quiet since `idleSince` whose summary is missing or older than their last
   * message, with at least two messages a summary could use, in id order.
   */
  idleConversationsToSummarise(idleSince: Date, limit: number, page?: IdleConversationsPage): Promise<IdleConversation[]>;
  /** Applies pending receipts whose message is now stored, for up to `limit` messages. */
  reconcilePendingReceipts(limit: number): Promise<ReconcileResult>;
  /** Deletes up to `limit` rows of each table past the cutoffs; call until every count is below `limit`. */
  deleteOlderThan(cutoffs: RetentionCutoffs, limit: number): Promise<RetentionCounts>;
}

/** The kinds the summary's transcript leaves out (chat-history.ts), so they do not make a chat summarisable. */
const NON_TURN_KINDS = ['reaction', 'revoke', 'edit'];

export function createMaintenanceRepository(db: Database): MaintenanceRepository {
  return {
    idleConversationsToSummarise: async (idleSince, limit, page = {}) => {
      let query = db
        .selectFrom('conversations as c')
        .select(['c.tenant_id', 'c.id'])
        .select((eb) =>
          eb
            .selectFrom('messages as m')
            .select(sql<string>`max(m.id)`.as('newest'))
            .whereRef('m.conversation_id', '=', 'c.id')
            .as('newest_message_id'),
        )
        .where('c.chat_type', '=', 'direct')
        .where('c.last_message_at', '<', idleSince)
        .where((eb) => eb.or([eb('c.summary_updated_at', 'is', null), eb('c.summary_updated_at', '<', eb.ref('c.last_message_at'))]))
        // A one-message chat is never summarised ("too short"): without this check every sweep would
        // enqueue it again once its job record expired, for as long as the chat stays quiet.
        .where(
          sql<boolean>`(select count(*) from (
            select 1 from messages m
            where m.conversation_id = c.id and m.deleted_at is null and m.kind not in (${sql.join(NON_TURN_KINDS)})
            limit 2) as turns) >= 2`,
        )
        .orderBy('c.id')
        .limit(limit);
      if (page.notBefore) query = query.where('c.last_message_at', '>=', page.notBefore);
      if (page.afterId) query = query.where('c.id', '>', page.afterId);
      const rows = await query.execute();
      return rows.flatMap((row) =>
        row.newest_message_id === null ? [] : [{ tenantId: row.tenant_id, conversationId: row.id, newestMessageId: row.newest_message_id }],
      );
    },

    reconcilePendingReceipts: async (limit) => {
      const found = await db
        .selectFrom('pending_receipts as p')
        .select(['p.tenant_id', 'p.remote_jid', 'p.wa_message_id', 'p.from_me'])
        .distinct()
        .where(({ exists, selectFrom }) =>
          exists(
            selectFrom('messages as m')
              .select(sql`1`.as('one'))
              .whereRef('m.tenant_id', '=', 'p.tenant_id')
              .whereRef('m.remote_jid', '=', 'p.remote_jid')
              .whereRef('m.wa_message_id', '=', 'p.wa_message_id')
              .whereRef('m.from_me', '=', 'p.from_me'),
          ),
        )
        .limit(limit)
        .execute();
      let receipts = 0;
      for (const row of found) {
        const identity: MessageIdentity = { tenantId: row.tenant_id, remoteJid: row.remote_jid, waMessageId: row.wa_message_id, fromMe: row.from_me };
        // The same lock and steps as the message's own store: a receipt arriving right now either
        // waits for this transaction or is applied by it, never parked behind it.
        receipts += await db.transaction().execute(async (trx) => {
          await lockIdentity(trx, identity);
          const messageId = await findMessageId(trx, identity);
          return messageId === undefined ? 0 : applyPendingReceipts(trx, identity, messageId);
        });
      }
      return { messages: found.length, receipts };
    },

    deleteOlderThan: async ({ cutoff, pendingReceiptsBefore }, limit) => {
      // Messages first (their receipts go by cascade), so the conversations they emptied can go in
      // the same round. Old rows have the lowest ids: the id order lets each batch stop early.
      const messages = await db
        .deleteFrom('messages')
        .where('id', 'in', (eb) => eb.selectFrom('messages').select('id').where('created_at', '<', cutoff).orderBy('id').limit(limit))
        .executeTakeFirst();
      // A pending row is a send still owed to a customer: it is never deleted, however old.
      const outbox = await db
        .deleteFrom('outbox')
        .where('id', 'in', (eb) =>
          eb.selectFrom('outbox').select('id').where('created_at', '<', cutoff).where('state', '!=', 'pending').orderBy('id').limit(limit),
        )
        .executeTakeFirst();
      const pendingReceipts = await db
        .deleteFrom('pending_receipts')
        .where('id', 'in', (eb) => eb.selectFrom('pending_receipts').select('id').where('created_at', '<', pendingReceiptsBefore).orderBy('id').limit(limit))
        .executeTakeFirst();
      // Only emptied conversations: deleting one cascades to its outbox rows, which must include no
      // pending send (nor a recent failed one an operator may still want to see).
      const conversations = await db
        .deleteFrom('conversations')
        .where('id', 'in', (eb) =>
          eb
            .selectFrom('conversations as c')
            .select('c.id')
            .where(sql<Date>`coalesce(c.last_message_at, c.created_at)`, '<', cutoff)
            .where(({ not, exists, selectFrom }) =>
              not(exists(selectFrom('messages as m').select(sql`1`.as('one')).whereRef('m.conversation_id', '=', 'c.id'))),
            )
            .where(({ not, exists, selectFrom }) =>
              not(exists(selectFrom('outbox as o').select(sql`1`.as('one')).whereRef('o.conversation_id', '=', 'c.id'))),
            )
            .orderBy('c.id')
            .limit(limit),
        )
        .executeTakeFirst();
      return {
        messages: Number(messages.numDeletedRows),
        outbox: Number(outbox.numDeletedRows),
        pendingReceipts: Number(pendingReceipts.numDeletedRows),
        conversations: Number(conversations.numDeletedRows),
      };
    },
  };
}
