import { Type, type SchemaOptions, type Static, type StringOptions } from '@sinclair/typebox';

export const TenantId = Type.String({
  pattern: '^[a-z0-9][a-z0-9_-]{0,63}$',
  description: 'Lower-case letters, digits, "-" and "_"; up to 64 characters',
});

/**
 * `T | null` in a request body. Fastify's ajv coerces bodies too (`coerceTypes: 'array'`), and in an
 * `anyOf: [T, null]` the first branch coerces a null before the second is tried: null became false or
 * "". A type list is checked as a whole, so a null matches "null" and is never coerced.
 */
export const NullableBoolean = (options: SchemaOptions = {}) => Type.Unsafe<boolean | null>({ ...options, type: ['boolean', 'null'] });
export const NullableString = (options: StringOptions = {}) => Type.Unsafe<string | null>({ ...options, type: ['string', 'null'] });

const TenantFields = {
  name: Type.String({ minLength: 1, maxLength: 200 }),
  timezone: Type.String({ minLength: 1, maxLength: 64, description: 'IANA time zone, e.g. Asia/Jerusalem' }),
  webhookSecret: NullableString({
    minLength: 16,
    maxLength: 256,
    description: 'Key for the per-tenant HMAC webhook signature; never returned',
  }),
  aiEnabled: Type.Boolean(),
  systemPrompt: NullableString({ maxLength: 20_000 }),
  // A blank text would make every reply empty, and an empty reply is never sent: null is "the default".
  replyTemplate: NullableString({
    minLength: 1,
    maxLength: 2000,
    pattern: '\\S',
    description: 'Answer of the offline template provider; {name} and {message} are filled in. null: the built-in default',
  }),
  voiceNoteReply: NullableString({
    minLength: 1,
    maxLength: 2000,
    pattern: '\\S',
    description: 'Answer to a voice note until transcription exists. null: the built-in default',
  }),
  groupsEnabled: Type.Boolean({ description: 'Whether group chats are answered (stored either way)' }),
  broadcastRatePerMinute: Type.Unsafe<number | null>({
    type: ['integer', 'null'],
    minimum: 1,
    maximum: 100_000,
    description: 'Broadcast sends per minute for this tenant. null: BROADCAST_RATE_PER_MINUTE',
  }),
};

export const CreateTenantBody = Type.Object(
  {
    id: TenantId,
    name: TenantFields.name,
    timezone: Type.Optional(TenantFields.timezone),
    webhookSecret: Type.Optional(TenantFields.webhookSecret),
    aiEnabled: Type.Optional(TenantFields.aiEnabled),
    systemPrompt: Type.Optional(TenantFields.systemPrompt),
    replyTemplate: Type.Optional(TenantFields.replyTemplate),
    voiceNoteReply: Type.Optional(TenantFields.voiceNoteReply),
    groupsEnabled: Type.Optional(TenantFields.groupsEnabled),
    broadcastRatePerMinute: Type.Optional(TenantFields.broadcastRatePerMinute),
  },
  { additionalProperties: false },
);

export const UpdateTenantBody = Type.Partial(Type.Object(TenantFields), { additionalProperties: false, minProperties: 1 });

export const TenantParams = Type.Object({ id: TenantId });

export const TenantView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  timezone: Type.String(),
  hasWebhookSecret: Type.Boolean(),
  aiEnabled: Type.Boolean(),
  systemPrompt: Type.Union([Type.String(), Type.Null()]),
  replyTemplate: Type.Union([Type.String(), Type.Null()]),
  voiceNoteReply: Type.Union([Type.String(), Type.Null()]),
  groupsEnabled: Type.Boolean(),
  broadcastRatePerMinute: Type.Union([Type.Integer(), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});

export type CreateTenantBody = Static<typeof CreateTenantBody>;
export type UpdateTenantBody = Static<typeof UpdateTenantBody>;
export type TenantView = Static<typeof TenantView>;
