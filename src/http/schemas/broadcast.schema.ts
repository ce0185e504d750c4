import { Type, type Static } from '@sinclair/typebox';
import { TenantId } from './tenant.schema.js';

export const MAX_BROADCAST_RECIPIENTS = 100_000;

export const BroadcastId = Type.String({ pattern: '^[0-9]{1,19}$', description: 'Broadcast id (decimal)' });
export const BroadcastListParams = Type.Object({ id: TenantId });
export const BroadcastParams = Type.Object({ id: TenantId, bid: BroadcastId });

/** The same chats a reminder may go to (see reminder.schema.ts), checked per item to report positions. */
export const BROADCAST_JID_PATTERN = /^[0-9]{5,20}@s\.whatsapp\.net$|^[0-9]+@lid$|^[0-9-]+@g\.us$/;

export const CreateBroadcastBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    text: Type.String({ minLength: 1, maxLength: 4096, pattern: '\\S' }),
    recipients: Type.Array(Type.String({ maxLength: 128 }), {
      minItems: 1,
      maxItems: MAX_BROADCAST_RECIPIENTS,
      description: 'Chat jids (972501234567@s.whatsapp.net, 1234567890@lid, 120363000000000000@g.us); duplicates are removed and counted',
    }),
    ratePerMinute: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, description: "Sends per minute; default the tenant's rate" })),
  },
  { additionalProperties: false },
);

const BroadcastState = Type.Union([
  Type.Literal('pending'),
  Type.Literal('running'),
  Type.Literal('paused'),
  Type.Literal('completed'),
  Type.Literal('cancelled'),
]);
const NullableDate = Type.Union([Type.String({ format: 'date-time' }), Type.Null()]);

export const BroadcastView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  state: BroadcastState,
  total: Type.Integer(),
  duplicatesRemoved: Type.Integer(),
  ratePerMinute: Type.Union([Type.Integer(), Type.Null()], { description: "null: the tenant's rate" }),
  sent: Type.Integer(),
  failed: Type.Integer(),
  skipped: Type.Integer(),
  pending: Type.Integer(),
  delivered: Type.Integer({ description: 'Sent and delivered (receipts)' }),
  read: Type.Integer({ description: 'Sent and read (receipts)' }),
  progress: Type.Number({ minimum: 0, maximum: 1, description: '(sent + failed + skipped) / total' }),
  createdAt: Type.String({ format: 'date-time' }),
  startedAt: NullableDate,
  finishedAt: NullableDate,
});

export const BroadcastPage = Type.Object({
  items: Type.Array(BroadcastView),
  total: Type.Integer(),
  limit: Type.Integer(),
  offset: Type.Integer(),
});

export type CreateBroadcastBody = Static<typeof CreateBroadcastBody>;
export type BroadcastView = Static<typeof BroadcastView>;
