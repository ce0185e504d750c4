import { Type, type Static } from '@sinclair/typebox';

export const TenantId = Type.String({
  pattern: '^[a-z0-9][a-z0-9_-]{0,63}$',
  description: 'Lower-case letters, digits, "-" and "_"; up to 64 characters',
});

const TenantFields = {
  name: Type.String({ minLength: 1, maxLength: 200 }),
  timezone: Type.String({ minLength: 1, maxLength: 64, description: 'IANA time zone, e.g. Asia/Jerusalem' }),
  webhookSecret: Type.Union([Type.String({ minLength: 16, maxLength: 256 }), Type.Null()], {
    description: 'Key for the per-tenant HMAC webhook signature; never returned',
  }),
  aiEnabled: Type.Boolean(),
  systemPrompt: Type.Union([Type.String({ maxLength: 20_000 }), Type.Null()]),
};

export const CreateTenantBody = Type.Object(
  {
    id: TenantId,
    name: TenantFields.name,
    timezone: Type.Optional(TenantFields.timezone),
    webhookSecret: Type.Optional(TenantFields.webhookSecret),
    aiEnabled: Type.Optional(TenantFields.aiEnabled),
    systemPrompt: Type.Optional(TenantFields.systemPrompt),
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
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});

export type CreateTenantBody = Static<typeof CreateTenantBody>;
export type UpdateTenantBody = Static<typeof UpdateTenantBody>;
export type TenantView = Static<typeof TenantView>;
