/**
 * Reminders and their one send each.
 *
 * `dispatchDue` is the only way a reminder leaves `pending` towards a send. It locks due reminders
 * with `FOR UPDATE SKIP LOCKED`, so overlapping ticks split the backlog instead of waiting on (or
 * doubling) each other, and in the same transaction either marks each one `missed` (too late) or
 * stores its outbox row and marks it `queued`. The outbox row is unique per reminder
 * (`outbox_one_send_per_reminder`) and its id is the gateway's idempotency key, so a reminder is
 * sent at most once; `unsentOutbox` lets the next tick re-enqueue a send a dead tick committed but
 * never enqueued, so it is sent at least once too.
 *
 * What a caller sees as the reminder's status joins the outbox: a `queued` reminder whose row was
 * sent reads `sent`, one whose row failed for good reads `failed`.
 */
import { sql, type Transaction } from 'kysely';
import type { Database } from '../database.js';
import type { DB, Reminder } from '../schema.js';
import type { Page } from './conversations.repository.js';

/** The status reported to callers: the reminder's own state, refined by its outbox row's. */
export const REMINDER_STATUSES = ['pending', 'queued', 'sent', 'failed', 'missed', 'cancelled'] as const;
export type ReminderStatus = (typeof REMINDER_STATUSES)[number];

export interface ReminderWithSend extends Reminder {
  status: ReminderStatus;
  sent_at: Date | null;
  /** The outbox row's last error: why the send failed, or why it is still being retried. */
  send_error: string | null;
}

export interface NewReminder {
  tenantId: string;
  toJid: string;
  text: string;
  dueAt: Date;
}

export interface DueSend {
  tenantId: string;
  reminderId: string;
  outboxId: string;
}

export interface DispatchResult {
  /** How many due reminders this call took (queued + missed); below `limit` means none are left. */
  claimed: number;
  /** The outbox rows now standing for a send; each needs its `send_message` job. */
  sends: DueSend[];
  missed: Array<{ tenantId: string; reminderId: string }>;
}

export interface RemindersRepository {
  create(reminder: NewReminder): Promise<ReminderWithSend>;
  /** Scoped by tenant: another tenant's reminder id is not found. Newest due first. */
  list(tenantId: string, options: Page & { status?: ReminderStatus }): Promise<{ items: ReminderWithSend[]; total: number }>;
  find(tenantId: string, reminderId: string): Promise<ReminderWithSend | undefined>;
  /** Cancels a pending reminder; undefined when it is not pending (or not found): nothing changed. */
  cancel(tenantId: string, reminderId: string): Promise<ReminderWithSend | undefined>;
  /**
   * Takes up to `limit` pending reminders due at `now` or earlier: those due more than
   * `maxLatenessMinutes` ago become `missed`, the others get their outbox row and become `queued`.
   * One transaction; concurrent callers take disjoint reminders.
   */
  dispatchDue(now: Date, maxLatenessMinutes: number, limit: number): Promise<DispatchResult>;
  /** Reminder outbox rows still waiting to be sent, by id after `afterId` (to page through them). */
  unsentOutbox(afterId: string, limit: number): Promise<DueSend[]>;
}

/** Every reminder jid the API accepts is a group (`@g.us`) or a person (`@s.whatsapp.net`, `@lid`). */
function chatTypeOf(jid: string): 'group' | 'direct' {
  return jid.endsWith('@g.us') ? 'group' : 'direct';
}

// The status as SQL (over `reminders` left-joined to its outbox row as `o`), so the list filters and
// counts by exactly what the view shows. (A queued reminder always has its row: deleting the row
// deletes the reminder.)
const statusSql = sql<ReminderStatus>`case when reminders.state = 'queued' then case o.state when 'sent' then 'sent' when 'failed' then 'failed' else 'queued' end else reminders.state end`;

function withSend(db: Database) {
  return db
    .selectFrom('reminders')
    .leftJoin('outbox as o', 'o.id', 'reminders.outbox_id')
    .selectAll('reminders')
    .select([statusSql.as('status'), 'o.sent_at as sent_at', 'o.last_error as send_error']);
}

export function createRemindersRepository(db: Database): RemindersRepository {
  const find = (tenantId: string, reminderId: string) =>
    withSend(db).where('reminders.tenant_id', '=', tenantId).where('reminders.id', '=', reminderId).executeTakeFirst();

  return {
    create: async (reminder) => {
      const row = await db
        .insertInto('reminders')
        .values({ tenant_id: reminder.tenantId, to_jid: reminder.toJid, text: reminder.text, due_at: reminder.dueAt })
        .returningAll()
        .executeTakeFirstOrThrow();
      return { ...row, status: 'pending', sent_at: null, send_error: null };
    },

    list: async (tenantId, { limit, offset, status }) => {
      const all = db.selectFrom('reminders').leftJoin('outbox as o', 'o.id', 'reminders.outbox_id').where('reminders.tenant_id', '=', tenantId);
      const base = status === undefined ? all : all.where(statusSql, '=', status);
      const [items, total] = await Promise.all([
        base
          .selectAll('reminders')
          .select([statusSql.as('status'), 'o.sent_at as sent_at', 'o.last_error as send_error'])
          .orderBy('reminders.due_at', 'desc')
          .orderBy('reminders.id', 'desc')
          .limit(limit)
          .offset(offset)
          .execute(),
        base.select(sql<string>`count(*)`.as('n')).executeTakeFirstOrThrow(),
      ]);
      return { items, total: Number(total.n) };
    },

    find,

    cancel: async (tenantId, reminderId) => {
      // A tick holding the row (FOR UPDATE) makes this wait for its commit, then see it queued or
      // missed: a reminder is never both cancelled and sent.
      const cancelled = await db
        .updateTable('reminders')
        .set({ state: 'cancelled', updated_at: new Date() })
        .where('tenant_id', '=', tenantId)
        .where('id', '=', reminderId)
        .where('state', '=', 'pending')
        .returningAll()
        .executeTakeFirst();
      return cancelled ? { ...cancelled, status: 'cancelled', sent_at: null, send_error: null } : undefined;
    },

    dispatchDue: (now, maxLatenessMinutes, limit) =>
      db.transaction().execute(async (trx): Promise<DispatchResult> => {
        const due = await trx
          .selectFrom('reminders')
          .select(['id', 'tenant_id', 'to_jid', 'text', 'due_at'])
          .where('state', '=', 'pending')
          .where('due_at', '<=', now)
          .orderBy('due_at')
          .orderBy('id')
          .limit(limit)
          .forUpdate()
          .skipLocked()
          .execute();
        if (due.length === 0) return { claimed: 0, sends: [], missed: [] };

        const oldestOnTime = now.getTime() - maxLatenessMinutes * 60_000;
        const late = due.filter((r) => r.due_at.getTime() < oldestOnTime);
        const onTime = due.filter((r) => r.due_at.getTime() >= oldestOnTime);

        if (late.length > 0) {
          const minutesLate = sql<string>`floor(extract(epoch from (${now}::timestamptz - due_at)) / 60)::bigint`;
          await trx
            .updateTable('reminders')
            .set({
              state: 'missed',
              note: sql<string>`concat('Not sent: first picked up ', ${minutesLate}, ' minutes after it was due, over the ', ${maxLatenessMinutes}::int, '-minute limit (REMINDER_MAX_LATENESS_MINUTES)')`,
              updated_at: now,
            })
            .where(
              'id',
              'in',
              late.map((r) => r.id),
            )
            .execute();
        }

        let sends: DueSend[] = [];
        if (onTime.length > 0) {
          const conversationIds = await upsertConversations(trx, onTime);
          await trx
            .insertInto('outbox')
            .values(
              onTime.map((r) => ({
                tenant_id: r.tenant_id,
                conversation_id: conversationOf(conversationIds, r),
                to_jid: r.to_jid,
                text: r.text,
                purpose: 'reminder',
                reminder_id: r.id,
                reply_to_message_id: null,
                quoted_wa_message_id: null,
                wa_message_id: null,
                last_error: null,
                sent_at: null,
              })),
            )
            // A row already there (a reminder put back to pending by hand) is the one send: keep it.
            .onConflict((oc) => oc.constraint('outbox_one_send_per_reminder').doNothing())
            .execute();
          const rows = await trx
            .updateTable('reminders')
            .from('outbox')
            .set((eb) => ({ state: 'queued', outbox_id: eb.ref('outbox.id'), updated_at: now }))
            .whereRef('outbox.reminder_id', '=', 'reminders.id')
            .whereRef('outbox.tenant_id', '=', 'reminders.tenant_id')
            .where(
              'reminders.id',
              'in',
              onTime.map((r) => r.id),
            )
            .returning(['reminders.tenant_id', 'reminders.id', 'outbox.id as outbox_id'])
            .execute();
          sends = rows.map((r) => ({ tenantId: r.tenant_id, reminderId: r.id, outboxId: r.outbox_id }));
        }
        return { claimed: due.length, sends, missed: late.map((r) => ({ tenantId: r.tenant_id, reminderId: r.id })) };
      }),

    unsentOutbox: async (afterId, limit) => {
      const rows = await db
        .selectFrom('outbox')
        .select(['id', 'tenant_id', 'reminder_id'])
        .where('reminder_id', 'is not', null)
        .where('state', '=', 'pending')
        .where('id', '>', afterId)
        .orderBy('id')
        .limit(limit)
        .$narrowType<{ reminder_id: string }>()
        .execute();
      return rows.map((r) => ({ tenantId: r.tenant_id, reminderId: r.reminder_id, outboxId: r.id }));
    },
  };
}

function chatKey(tenantId: string, jid: string): string {
  return `${tenantId}\u0000${jid}`;
}

function conversationOf(ids: ReadonlyMap<string, string>, r: { tenant_id: string; to_jid: string }): string {
  const id = ids.get(chatKey(r.tenant_id, r.to_jid));
  // Only a conversation deleted between the upsert and here (its tenant deleted) gets here.
  if (id === undefined) throw new Error(`No conversation for ${r.to_jid} of tenant ${r.tenant_id}`);
  return id;
}

/**
 * The conversation of each reminder's chat, created when the reminder is its first message (so the
 * outbox row, and the sent message after it, belong to a conversation like every other send).
 */
async function upsertConversations(
  trx: Transaction<DB>,
  reminders: ReadonlyArray<{ tenant_id: string; to_jid: string }>,
): Promise<Map<string, string>> {
  const chats = new Map<string, { tenant_id: string; remote_jid: string }>();
  for (const r of reminders) chats.set(chatKey(r.tenant_id, r.to_jid), { tenant_id: r.tenant_id, remote_jid: r.to_jid });
  // A fixed order: two ticks inserting overlapping chats lock them in the same order, never a deadlock.
  const ordered = [...chats.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, chat]) => chat);
  await trx
    .insertInto('conversations')
    .values(ordered.map((c) => ({ ...c, chat_type: chatTypeOf(c.remote_jid), last_message_at: null })))
    .onConflict((oc) => oc.columns(['tenant_id', 'remote_jid']).doNothing())
    .execute();
  const rows = await trx
    .selectFrom('conversations')
    .select(['id', 'tenant_id', 'remote_jid'])
    .where((eb) =>
      eb(
        eb.refTuple('tenant_id', 'remote_jid'),
        'in',
        ordered.map((c) => eb.tuple(c.tenant_id, c.remote_jid)),
      ),
    )
    .execute();
  return new Map(rows.map((r) => [chatKey(r.tenant_id, r.remote_jid), r.id]));
}
