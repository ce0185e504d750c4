/** Role `all`: a `demo` tenant and a ready-to-paste curl, so a first run can be tried in one step. */
import type { TenantsRepository } from '../db/repositories/tenants.repository.js';

export const DEMO_TENANT_ID = 'demo';

export async function ensureDemoTenant(tenants: TenantsRepository): Promise<void> {
  await tenants.create({ id: DEMO_TENANT_ID, name: 'Demo business', webhook_secret: null, system_prompt: null });
}

/** A sample message; its id changes with each start so the printed curl always posts a new message. */
export function sampleWebhookBody(messageId = `DEMO${Date.now().toString(16).toUpperCase()}`): string {
  return JSON.stringify({
    tenantId: DEMO_TENANT_ID,
    event: 'messages.upsert',
    payload: {
      type: 'notify',
      messages: [
        {
          key: { remoteJid: '972501234567@s.whatsapp.net', fromMe: false, id: messageId },
          messageTimestamp: 1764480000,
          pushName: 'Dana',
          message: { conversation: 'Hi, is the appointment tomorrow still on?' },
        },
      ],
    },
  });
}

export function startupBanner(options: { port: number; internalSecret: string; adminToken: string; redisUrl: string; database: string }): string {
  const base = `http://127.0.0.1:${options.port}`;
  return [
    '',
    'Switchboard is running (role "all", embedded defaults).',
    `  Redis:          ${options.redisUrl}`,
    `  Database:       ${options.database}`,
    `  INTERNAL_SECRET ${options.internalSecret}`,
    `  ADMIN_TOKEN     ${options.adminToken}`,
    '',
    'Post a sample WhatsApp message for the "demo" tenant:',
    `  curl -sS -X POST ${base}/webhook/whatsapp/incoming \\`,
    `    -H 'Content-Type: application/json' -H 'X-Internal-Secret: ${options.internalSecret}' \\`,
    `    -d '${sampleWebhookBody()}'`,
    '',
    `Health: ${base}/ready   Metrics: ${base}/metrics   Admin API: ${base}/api/tenants (Bearer ADMIN_TOKEN)`,
    `Operator console: ${base}/admin (sign in with ADMIN_TOKEN)`,
    '',
  ].join('\n');
}
