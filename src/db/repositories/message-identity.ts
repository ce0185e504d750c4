import { sql, type Transaction } from 'kysely';
import type { DB } from '../schema.js';

/** DESIGN.md's message identity: unique per stored message. */
export interface MessageIdentity {
  tenantId: string;
  remoteJid: string;
  waMessageId: string;
  fromMe: boolean;
}

/**
 * Serialises, until the transaction ends, all work on one message identity: storing the message,
 * applying a receipt or a reaction/revoke/edit to it. Without it a receipt could look for its message,
 * miss it, and park itself as pending just after the message's own transaction looked for pending
 * receipts — and never be applied.
 */
export async function lockIdentity(trx: Transaction<DB>, identity: MessageIdentity): Promise<void> {
  await sql`select pg_advisory_xact_lock(hashtextextended(${identityLockKey(identity)}, 0))`.execute(trx);
}

/** The text hashed into the identity's advisory lock (the store function takes it as a parameter). */
export function identityLockKey(identity: MessageIdentity): string {
  return JSON.stringify([identity.tenantId, identity.remoteJid, identity.waMessageId, identity.fromMe]);
}

export async function findMessageId(trx: Transaction<DB>, identity: MessageIdentity): Promise<string | undefined> {
  const row = await trx
    .selectFrom('messages')
    .select('id')
    .where('tenant_id', '=', identity.tenantId)
    .where('remote_jid', '=', identity.remoteJid)
    .where('wa_message_id', '=', identity.waMessageId)
    .where('from_me', '=', identity.fromMe)
    .executeTakeFirst();
  return row?.id;
}
