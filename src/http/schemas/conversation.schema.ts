import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { NullableBoolean, TenantId } from './tenant.schema.js';

/** bigserial ids travel as decimal strings: they can exceed 2^53. At most 19 digits, like a bigint. */
export const ConversationId = Type.String({ pattern: '^[0-9]{1,19}$', description: 'Conversation id (decimal)' });

export const ConversationListParams = Type.Object({ id: TenantId });
export const ConversationParams = Type.Object({ id: TenantId, cid: ConversationId });

export const PageQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
    offset: Type.Integer({ minimum: 0, default: 0 }),
  },
  { additionalProperties: false },
);

export const UpdateConversationBody = Type.Object(
  {
    aiEnabled: NullableBoolean({ description: "The conversation's override; null follows the tenant" }),
  },
  { additionalProperties: false },
);

export const ErrorResponse = Type.Object({ error: Type.String(), message: Type.Optional(Type.String()) });

const NullableDate = Type.Union([Type.String({ format: 'date-time' }), Type.Null()]);

export const ConversationView = Type.Object({
  id: Type.String(),
  remoteJid: Type.String(),
  chatType: Type.String(),
  aiEnabled: Type.Union([Type.Boolean(), Type.Null()], { description: 'The override; null follows the tenant' }),
  effectiveAiEnabled: Type.Boolean({ description: "The override, or the tenant's setting when there is none" }),
  summary: Type.Union([Type.String(), Type.Null()]),
  lastMessageAt: NullableDate,
  createdAt: Type.String({ format: 'date-time' }),
});

export const MessageView = Type.Object({
  id: Type.String(),
  waMessageId: Type.String(),
  fromMe: Type.Boolean(),
  kind: Type.String(),
  text: Type.Union([Type.String(), Type.Null()]),
  senderJid: Type.String(),
  sentAt: Type.String({ format: 'date-time' }),
  status: Type.Union([Type.Integer(), Type.Null()]),
  deletedAt: NullableDate,
  editedAt: NullableDate,
  reactions: Type.Record(Type.String(), Type.String(), { description: 'Reactor jid → emoji' }),
  replyState: Type.Union([Type.String(), Type.Null()]),
  replyNote: Type.Union([Type.String(), Type.Null()]),
  outboxId: Type.Union([Type.String(), Type.Null()]),
});

const pageOf = <T extends TSchema>(item: T) =>
  Type.Object({ items: Type.Array(item), total: Type.Integer(), limit: Type.Integer(), offset: Type.Integer() });

export const ConversationPage = pageOf(ConversationView);
export const MessagePage = pageOf(MessageView);

export type PageQuery = Static<typeof PageQuery>;
export type UpdateConversationBody = Static<typeof UpdateConversationBody>;
export type ConversationView = Static<typeof ConversationView>;
export type MessageView = Static<typeof MessageView>;
