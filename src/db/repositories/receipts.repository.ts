/**
 * Delivery receipts, applied monotonically: a status only ever rises (SERVER_ACK 2 → DELIVERY_ACK 3 →
 * READ 4 → PLAYED 5), whatever order the receipts arrive in, and each status keeps the time it was
 * first reached. A receipt for a message not stored yet is parked in `pending_receipts` and applied by
 * the transaction that stores the message.
 */
import { sql, type Transaction } from 'kysely';
import type { Database } from '../database.js';
import type { DB } from '../schema.js';
import { findMessageId, lockIdentity, type MessageIdentity } from './message-identity.js';

export interface Receipt {
  status: number;
  at: Date | null;
  /** A group member's receipt; null for the chat-level status of `messages.update`. */
  userJid: string | null;
}

export type ReceiptOutcome = 'applied' | 'pending';

export interface ReceiptsRepository {
  apply(identity: MessageIdentity, receipt: Receipt): Promise<ReceiptOutcome>;
}

export function createReceiptsRepository(db: Database): ReceiptsRepository {
  return {
    apply: (identity, receipt) =>
      db.transaction().execute(async (trx) => {
        await lockIdentity(trx, identity);
        const messageId = await findMessageId(trx, identity);
        if (messageId === undefined) {
          await trx
            .insertInto('pending_receipts')
            .values({
              tenant_id: identity.tenantId,
              remote_jid: identity.remoteJid,
              wa_message_id: identity.waMessageId,
              from_me: identity.fromMe,
              user_jid: receipt.userJid ?? '',
              status: receipt.status,
              status_at: receipt.at,
            })
            .onConflict((oc) => oc.constraint('pending_receipts_identity').doNothing())
            .execute();
          return 'pending';
        }
        await applyReceiptToMessage(trx, messageId, receipt);
        return 'applied';
      }),
  };
}

/** Applies and removes the receipts that arrived before the message; call inside its transaction. */
export async function applyPendingReceipts(trx: Transaction<DB>, identity: MessageIdentity, messageId: string): Promise<number> {
  const pending = await trx
    .deleteFrom('pending_receipts')
    .where('tenant_id', '=', identity.tenantId)
    .where('remote_jid', '=', identity.remoteJid)
    .where('wa_message_id', '=', identity.waMessageId)
    .where('from_me', '=', identity.fromMe)
    .returning(['status', 'status_at', 'user_jid'])
    .execute();
  for (const row of pending) {
    await applyReceiptToMessage(trx, messageId, { status: row.status, at: row.status_at, userJid: row.user_jid || null });
  }
  return pending.length;
}

async function applyReceiptToMessage(trx: Transaction<DB>, messageId: string, receipt: Receipt): Promise<void> {
  const at = receipt.at ?? new Date();
  const s = receipt.status;
  if (receipt.userJid) {
    await trx
      .insertInto('message_receipts')
      .values({
        message_id: messageId,
        user_jid: receipt.userJid,
        status: s,
        delivered_at: s === 3 ? at : null,
        read_at: s === 4 ? at : null,
        played_at: s === 5 ? at : null,
      })
      .onConflict((oc) =>
        oc.columns(['message_id', 'user_jid']).doUpdateSet({
          status: sql`greatest(message_receipts.status, excluded.status)`,
          delivered_at: sql`coalesce(message_receipts.delivered_at, excluded.delivered_at)`,
          read_at: sql`coalesce(message_receipts.read_at, excluded.read_at)`,
          played_at: sql`coalesce(message_receipts.played_at, excluded.played_at)`,
        }),
      )
      .execute();
    return;
  }
  await trx
    .updateTable('messages')
    .set({
      status: sql`greatest(coalesce(status, 0), ${s}::smallint)`,
      server_ack_at: s === 2 ? sql`coalesce(server_ack_at, ${at})` : sql`server_ack_at`,
      delivered_at: s === 3 ? sql`coalesce(delivered_at, ${at})` : sql`delivered_at`,
      read_at: s === 4 ? sql`coalesce(read_at, ${at})` : sql`read_at`,
      played_at: s === 5 ? sql`coalesce(played_at, ${at})` : sql`played_at`,
    })
    .where('id', '=', messageId)
    .execute();
}
