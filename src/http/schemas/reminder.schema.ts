import { Type, type Static } from '@sinclair/typebox';
import { REMINDER_STATUSES } from '../../db/repositories/reminders.repository.js';
import { ISO_DATE_TIME_PATTERN } from '../../lib/zoned-time.js';
import { TenantId } from './tenant.schema.js';

/** bigserial ids travel as decimal strings: they can exceed 2^53. At most 19 digits, like a bigint. */
export const ReminderId = Type.String({ pattern: '^[0-9]{1,19}$', description: 'Reminder id (decimal)' });

export const ReminderListParams = Type.Object({ id: TenantId });
export const ReminderParams = Type.Object({ id: TenantId, rid: ReminderId });

/** A chat we can send to: a phone number's jid, a LID, or a group. */
export const WhatsAppJid = Type.String({
  maxLength: 128,
  pattern: '^[0-9]{5,20}@s\\.whatsapp\\.net$|^[0-9]+@lid$|^[0-9-]+@g\\.us$',
  description: 'Recipient: 972501234567@s.whatsapp.net, 1234567890@lid or 120363000000000000@g.us',
});

const ReminderStatus = Type.Union(
  REMINDER_STATUSES.map((s) => Type.Literal(s)),
  {
    description:
      'pending (not due yet), queued (its send is under way), sent, failed (the gateway refused it, see sendError), missed (due while nothing ran, later than REMINDER_MAX_LATENESS_MINUTES), cancelled',
  },
);

export const CreateReminderBody = Type.Object(
  {
    to: WhatsAppJid,
    // WhatsApp would deliver a blank text as nothing at all.
    text: Type.String({ minLength: 1, maxLength: 4096, pattern: '\\S' }),
    dueAt: Type.String({
      maxLength: 40,
      pattern: ISO_DATE_TIME_PATTERN,
      description: "ISO 8601 date-time. With Z or an offset it is that instant; without (2026-12-01T09:00:00) it is read in the tenant's time zone",
    }),
  },
  { additionalProperties: false },
);

export const ReminderListQuery = Type.Object(
  {
    state: Type.Optional(ReminderStatus),
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
    offset: Type.Integer({ minimum: 0, default: 0 }),
  },
  { additionalProperties: false },
);

export const ReminderView = Type.Object({
  id: Type.String(),
  to: Type.String(),
  text: Type.String(),
  dueAt: Type.String({ format: 'date-time' }),
  state: ReminderStatus,
  note: Type.Union([Type.String(), Type.Null()], { description: 'Why it was not sent (missed)' }),
  outboxId: Type.Union([Type.String(), Type.Null()], { description: 'Its outbox row, once queued' }),
  sentAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  sendError: Type.Union([Type.String(), Type.Null()], { description: "The gateway's last answer when a send attempt failed" }),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});

export const ReminderPage = Type.Object({
  items: Type.Array(ReminderView),
  total: Type.Integer(),
  limit: Type.Integer(),
  offset: Type.Integer(),
});

export type CreateReminderBody = Static<typeof CreateReminderBody>;
export type ReminderListQuery = Static<typeof ReminderListQuery>;
export type ReminderView = Static<typeof ReminderView>;
