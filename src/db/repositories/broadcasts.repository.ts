/**
 * Broadcasts, their recipients and the one outbox row each recipient may become.
 *
 * Race-freedom rests on row locks taken in one order (the broadcast, then its recipients):
 * - `claim` (a send job) locks the broadcast FOR SHARE and, only while it is running, gives the
 *   pending recipient its outbox row (unique per recipient). A claimed recipient is committed: its
 *   send goes ahead even if the broadcast is paused or cancelled afterwards.
 * - `cancel` updates the broadcast (waiting for claims in flight to commit) and, in the same
 *   transaction, marks every unclaimed pending recipient `skipped`.
 * - `completeIfDone` runs after each recipient settles, after that commit, so whichever recipient
 *   settles last sees no pending one and completes the broadcast, exactly once. It locks the broadcast
 *   before its final look, so it also waits for a `rearmFailed` in flight and then sees its recipient.
 * - `rearmFailed` (an operator's retry of a failed send, never a job) locks the broadcast FOR UPDATE,
 *   then the recipient: failed → pending with its outbox row failed → pending (the same row, so the
 *   same idempotency key), and a completed broadcast back to running until that send settles.
 *
 * Progress is counted from the rows (recipients by state; delivered and read from the messages the
 * outbox rows became), never kept in memory.
 */
import { sql } from 'kysely';
import type { Database } from '../database.js';
import type { Broadcast, BroadcastRecipient, BroadcastRecipientState, BroadcastState } from '../schema.js';
import type { Page } from './conversations.repository.js';

export interface NewBroadcast {
  tenantId: string;
  name: string;
  text: string;
  /** Distinct, validated jids. */
  recipients: readonly string[];
  duplicatesRemoved: number;
  ratePerMinute: number | null;
}

export interface BroadcastCounts {
  sent: number;
  failed: number;
  skipped: number;
  pending: number;
  delivered: number;
  read: number;
}

export interface SendTarget {
  recipient: BroadcastRecipient;
  broadcast: Broadcast;
  /** The tenant's override of BROADCAST_RATE_PER_MINUTE, or null. */
  tenantRatePerMinute: number | null;
}

export type ClaimResult = { outcome: 'claimed'; outboxId: string } | { outcome: 'not_running'; state: BroadcastState } | { outcome: 'settled' };

export type RearmResult =
  | { outcome: 'rearmed'; broadcastState: BroadcastState }
  /** Nothing to re-arm: pending (already re-armed, or its job failed for another reason), sent or skipped. */
  | { outcome: 'not_failed'; state: BroadcastRecipientState }
  /** Refused: a cancelled broadcast sends nothing more. */
  | { outcome: 'cancelled' }
  | { outcome: 'not_found' };

export interface BroadcastsRepository {
  /** The broadcast and all its recipients, in one transaction. */
  create(broadcast: NewBroadcast): Promise<Broadcast>;
  remove(tenantId: string, broadcastId: string): Promise<void>;
  find(tenantId: string, broadcastId: string): Promise<Broadcast | undefined>;
  /** Newest first. */
  list(tenantId: string, page: Page): Promise<{ items: Broadcast[]; total: number }>;
  counts(broadcastIds: readonly string[]): Promise<Map<string, BroadcastCounts>>;
  /** pending → running (sets started_at); returns the broadcast as it is afterwards. */
  start(tenantId: string, broadcastId: string): Promise<Broadcast | undefined>;
  /** Moves the broadcast from one of `from` to `to`; undefined when it was in no state of `from`. */
  transition(tenantId: string, broadcastId: string, from: readonly BroadcastState[], to: 'running' | 'paused'): Promise<Broadcast | undefined>;
  /** Cancels it and marks its unclaimed pending recipients skipped, atomically. */
  cancel(tenantId: string, broadcastId: string): Promise<Broadcast | undefined>;
  /** Pending recipient ids after `afterId`, in id order (to page through them). */
  pendingRecipientIds(broadcastId: string, afterId: string, limit: number): Promise<string[]>;
  findSendTarget(tenantId: string, recipientId: string): Promise<SendTarget | undefined>;
  claim(tenantId: string, recipientId: string): Promise<ClaimResult>;
  /** An unclaimed pending recipient of a cancelled broadcast. */
  skip(recipientId: string): Promise<void>;
  settle(recipientId: string, state: 'sent' | 'failed', error: string | null): Promise<void>;
  /** running → completed when no recipient is pending; true when this call completed it. */
  completeIfDone(broadcastId: string): Promise<boolean>;
  /**
   * An operator's retry of a failed send: the failed recipient (and its outbox row) back to pending, a
   * completed broadcast back to running. Idempotent; never touches a sent or skipped recipient.
   */
  rearmFailed(tenantId: string, recipientId: string): Promise<RearmResult>;
}

const INSERT_CHUNK = 1000;

function chatTypeOf(jid: string): 'group' | 'direct' {
  return jid.endsWith('@g.us') ? 'group' : 'direct';
}

export function createBroadcastsRepository(db: Database): BroadcastsRepository {
  const hasPending = async (executor: Database, broadcastId: string): Promise<boolean> => {
    const row = await executor
      .selectFrom('broadcast_recipients')
      .select(sql`1`.as('one'))
      .where('broadcast_id', '=', broadcastId)
      .where('state', '=', 'pending')
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  };

  const completeIfDone = async (broadcastId: string): Promise<boolean> => {
    // Almost every call finds a pending recipient: answered without a lock.
    if (await hasPending(db, broadcastId)) return false;
    return db.transaction().execute(async (trx) => {
      // The lock waits for a re-arm in flight; the look after it is a new statement, so it sees the
      // re-armed recipient (one UPDATE … WHERE NOT EXISTS would re-check only the broadcast row).
      const broadcast = await trx.selectFrom('broadcasts').select('state').where('id', '=', broadcastId).forUpdate().executeTakeFirst();
      if (broadcast?.state !== 'running' || (await hasPending(trx, broadcastId))) return false;
      const now = new Date();
      await trx.updateTable('broadcasts').set({ state: 'completed', finished_at: now, updated_at: now }).where('id', '=', broadcastId).execute();
      return true;
    });
  };

  return {
    create: (b) =>
      db.transaction().execute(async (trx) => {
        const broadcast = await trx
          .insertInto('broadcasts')
          .values({
            tenant_id: b.tenantId,
            name: b.name,
            text: b.text,
            total: b.recipients.length,
            duplicates_removed: b.duplicatesRemoved,
            rate_per_minute: b.ratePerMinute,
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        for (let i = 0; i < b.recipients.length; i += INSERT_CHUNK) {
          await trx
            .insertInto('broadcast_recipients')
            .values(b.recipients.slice(i, i + INSERT_CHUNK).map((jid) => ({ broadcast_id: broadcast.id, tenant_id: b.tenantId, to_jid: jid })))
            .execute();
        }
        return broadcast;
      }),

    remove: async (tenantId, broadcastId) => {
      await db.deleteFrom('broadcasts').where('tenant_id', '=', tenantId).where('id', '=', broadcastId).execute();
    },

    find: (tenantId, broadcastId) =>
      db.selectFrom('broadcasts').selectAll().where('tenant_id', '=', tenantId).where('id', '=', broadcastId).executeTakeFirst(),

    list: async (tenantId, { limit, offset }) => {
      const [items, total] = await Promise.all([
        db.selectFrom('broadcasts').selectAll().where('tenant_id', '=', tenantId).orderBy('id', 'desc').limit(limit).offset(offset).execute(),
        db.selectFrom('broadcasts').select(sql<string>`count(*)`.as('n')).where('tenant_id', '=', tenantId).executeTakeFirstOrThrow(),
      ]);
      return { items, total: Number(total.n) };
    },

    counts: async (broadcastIds) => {
      const counts = new Map<string, BroadcastCounts>();
      if (broadcastIds.length === 0) return counts;
      for (const id of broadcastIds) counts.set(id, { sent: 0, failed: 0, skipped: 0, pending: 0, delivered: 0, read: 0 });
      const [byState, receipts] = await Promise.all([
        db
          .selectFrom('broadcast_recipients')
          .select(['broadcast_id', 'state', sql<string>`count(*)`.as('n')])
          .where('broadcast_id', 'in', broadcastIds)
          .groupBy(['broadcast_id', 'state'])
          .execute(),
        db
          .selectFrom('broadcast_recipients as r')
          .innerJoin('messages as m', 'm.outbox_id', 'r.outbox_id')
          .select([
            'r.broadcast_id',
            sql<string>`count(distinct r.id) filter (where m.status >= 3)`.as('delivered'),
            sql<string>`count(distinct r.id) filter (where m.status >= 4)`.as('read'),
          ])
          .where('r.broadcast_id', 'in', broadcastIds)
          .where('r.state', '=', 'sent')
          .groupBy('r.broadcast_id')
          .execute(),
      ]);
      for (const row of byState) {
        const c = counts.get(row.broadcast_id);
        if (c) c[row.state] = Number(row.n);
      }
      for (const row of receipts) {
        const c = counts.get(row.broadcast_id);
        if (c) {
          c.delivered = Number(row.delivered);
          c.read = Number(row.read);
        }
      }
      return counts;
    },

    start: async (tenantId, broadcastId) => {
      const now = new Date();
      const started = await db
        .updateTable('broadcasts')
        .set({ state: 'running', started_at: now, updated_at: now })
        .where('tenant_id', '=', tenantId)
        .where('id', '=', broadcastId)
        .where('state', '=', 'pending')
        .returningAll()
        .executeTakeFirst();
      return started ?? db.selectFrom('broadcasts').selectAll().where('tenant_id', '=', tenantId).where('id', '=', broadcastId).executeTakeFirst();
    },

    transition: (tenantId, broadcastId, from, to) =>
      db
        .updateTable('broadcasts')
        .set({ state: to, updated_at: new Date() })
        .where('tenant_id', '=', tenantId)
        .where('id', '=', broadcastId)
        .where('state', 'in', [...from])
        .returningAll()
        .executeTakeFirst(),

    cancel: (tenantId, broadcastId) =>
      db.transaction().execute(async (trx) => {
        const now = new Date();
        const cancelled = await trx
          .updateTable('broadcasts')
          .set({ state: 'cancelled', finished_at: now, updated_at: now })
          .where('tenant_id', '=', tenantId)
          .where('id', '=', broadcastId)
          .where('state', 'in', ['pending', 'running', 'paused'])
          .returningAll()
          .executeTakeFirst();
        if (!cancelled) return undefined;
        await trx
          .updateTable('broadcast_recipients')
          .set({ state: 'skipped', error: 'Broadcast cancelled' })
          .where('broadcast_id', '=', broadcastId)
          .where('state', '=', 'pending')
          .where('outbox_id', 'is', null)
          .execute();
        return cancelled;
      }),

    pendingRecipientIds: async (broadcastId, afterId, limit) => {
      const rows = await db
        .selectFrom('broadcast_recipients')
        .select('id')
        .where('broadcast_id', '=', broadcastId)
        .where('state', '=', 'pending')
        .where('id', '>', afterId)
        .orderBy('id')
        .limit(limit)
        .execute();
      return rows.map((r) => r.id);
    },

    findSendTarget: async (tenantId, recipientId) => {
      const recipient = await db
        .selectFrom('broadcast_recipients')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where('id', '=', recipientId)
        .executeTakeFirst();
      if (!recipient) return undefined;
      const row = await db
        .selectFrom('broadcasts as b')
        .innerJoin('tenants as t', 't.id', 'b.tenant_id')
        .selectAll('b')
        .select('t.broadcast_rate_per_minute as tenant_rate')
        .where('b.id', '=', recipient.broadcast_id)
        .executeTakeFirst();
      if (!row) return undefined;
      const { tenant_rate, ...broadcast } = row;
      return { recipient, broadcast, tenantRatePerMinute: tenant_rate };
    },

    claim: (tenantId, recipientId) =>
      db.transaction().execute(async (trx): Promise<ClaimResult> => {
        const recipient = await trx
          .selectFrom('broadcast_recipients')
          .selectAll()
          .where('tenant_id', '=', tenantId)
          .where('id', '=', recipientId)
          .executeTakeFirst();
        if (!recipient) return { outcome: 'settled' };
        // Lock order: the broadcast, then the recipient (as cancel does).
        const broadcast = await trx
          .selectFrom('broadcasts')
          .select(['id', 'state', 'text'])
          .where('id', '=', recipient.broadcast_id)
          .forShare()
          .executeTakeFirst();
        const locked = await trx.selectFrom('broadcast_recipients').selectAll().where('id', '=', recipientId).forUpdate().executeTakeFirst();
        if (!broadcast || !locked || locked.state !== 'pending') return { outcome: 'settled' };
        if (locked.outbox_id !== null) return { outcome: 'claimed', outboxId: locked.outbox_id };
        if (broadcast.state !== 'running') return { outcome: 'not_running', state: broadcast.state };

        await trx
          .insertInto('conversations')
          .values({ tenant_id: tenantId, remote_jid: locked.to_jid, chat_type: chatTypeOf(locked.to_jid), last_message_at: null })
          .onConflict((oc) => oc.columns(['tenant_id', 'remote_jid']).doNothing())
          .execute();
        const conversation = await trx
          .selectFrom('conversations')
          .select('id')
          .where('tenant_id', '=', tenantId)
          .where('remote_jid', '=', locked.to_jid)
          .executeTakeFirstOrThrow();
        await trx
          .insertInto('outbox')
          .values({
            tenant_id: tenantId,
            conversation_id: conversation.id,
            to_jid: locked.to_jid,
            text: broadcast.text,
            purpose: 'broadcast',
            broadcast_recipient_id: recipientId,
            reply_to_message_id: null,
            quoted_wa_message_id: null,
            wa_message_id: null,
            last_error: null,
            sent_at: null,
          })
          .onConflict((oc) => oc.constraint('outbox_one_send_per_broadcast_recipient').doNothing())
          .execute();
        const outbox = await trx.selectFrom('outbox').select('id').where('broadcast_recipient_id', '=', recipientId).executeTakeFirstOrThrow();
        await trx.updateTable('broadcast_recipients').set({ outbox_id: outbox.id }).where('id', '=', recipientId).execute();
        return { outcome: 'claimed', outboxId: outbox.id };
      }),

    skip: async (recipientId) => {
      await db
        .updateTable('broadcast_recipients')
        .set({ state: 'skipped', error: 'Broadcast cancelled' })
        .where('id', '=', recipientId)
        .where('state', '=', 'pending')
        .where('outbox_id', 'is', null)
        .execute();
    },

    settle: async (recipientId, state, error) => {
      await db.updateTable('broadcast_recipients').set({ state, error }).where('id', '=', recipientId).where('state', '=', 'pending').execute();
    },

    completeIfDone,

    rearmFailed: (tenantId, recipientId) =>
      db.transaction().execute(async (trx): Promise<RearmResult> => {
        const recipient = await trx
          .selectFrom('broadcast_recipients')
          .select('broadcast_id')
          .where('tenant_id', '=', tenantId)
          .where('id', '=', recipientId)
          .executeTakeFirst();
        if (!recipient) return { outcome: 'not_found' };
        // Lock order: the broadcast, then the recipient (as claim and cancel do).
        const broadcast = await trx.selectFrom('broadcasts').select(['id', 'state']).where('id', '=', recipient.broadcast_id).forUpdate().executeTakeFirst();
        const locked = await trx.selectFrom('broadcast_recipients').selectAll().where('id', '=', recipientId).forUpdate().executeTakeFirst();
        if (!broadcast || !locked) return { outcome: 'not_found' };
        if (locked.state !== 'failed' && locked.state !== 'pending') return { outcome: 'not_failed', state: locked.state };
        if (broadcast.state === 'cancelled') return { outcome: 'cancelled' };
        // The same outbox row, so the same idempotency key: the gateway refused it, so it never sent it.
        // (A row deleted by retention leaves the recipient unclaimed: its job claims a new one.) A
        // pending recipient whose row failed is a run that died between the two; it is re-armed too.
        const outbox =
          locked.outbox_id === null
            ? undefined
            : await trx.updateTable('outbox').set({ state: 'pending' }).where('id', '=', locked.outbox_id).where('state', '=', 'failed').returning('id').executeTakeFirst();
        if (locked.state === 'pending') return outbox ? { outcome: 'rearmed', broadcastState: broadcast.state } : { outcome: 'not_failed', state: 'pending' };
        await trx.updateTable('broadcast_recipients').set({ state: 'pending', error: null }).where('id', '=', recipientId).execute();
        if (broadcast.state !== 'completed') return { outcome: 'rearmed', broadcastState: broadcast.state };
        await trx.updateTable('broadcasts').set({ state: 'running', finished_at: null, updated_at: new Date() }).where('id', '=', broadcast.id).execute();
        return { outcome: 'rearmed', broadcastState: 'running' };
      }),
  };
}
