/**
 * The conversations admin API through the HTTP surface, against conversations the real pipeline stored
 * (webhook → Redis → in-process worker → PostgreSQL): paging, the per-chat AI override, and tenant
 * scoping — a crafted conversation id of another tenant is 404 and changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_ADMIN_TOKEN } from './support/config.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { textMessageBody } from './support/fixtures.js';
import { startHarness, type Harness } from './support/harness.js';
import { SHARED_REDIS_URL, deletePrefix, uniquePrefix } from './support/redis.js';
import { waitFor } from './support/wait.js';

let db: TestDatabase;
let harness: Harness;
let prefix: string;

const auth = { authorization: `Bearer ${TEST_ADMIN_TOKEN}` };

/** A year-old base time: the messages are stored but never answered, so no gateway is needed. */
const BASE = 1764480000;
const CHATS = 25;
const THREAD_MESSAGES = 7;
const chatJid = (i: number) => `9725000000${String(i).padStart(2, '0')}@s.whatsapp.net`;
const BETA_JID = '972599999999@s.whatsapp.net';

/** acme's conversation ids by chat index, and beta's one conversation id. */
const acmeIds = new Map<number, string>();
let betaId: string;

interface Answer {
  status: number;
  body: Record<string, unknown>;
  raw: string;
}

async function call(method: 'GET' | 'PATCH', url: string, body?: unknown, headers: Record<string, string> = auth): Promise<Answer> {
  const response = await harness.app.inject({ method, url, headers, ...(body === undefined ? {} : { payload: body as object }) });
  return { status: response.statusCode, body: response.json<Record<string, unknown>>(), raw: response.body };
}

function items(answer: Answer): Array<Record<string, unknown>> {
  return answer.body['items'] as Array<Record<string, unknown>>;
}

async function conversationId(tenantId: string, remoteJid: string): Promise<string> {
  const [row] = await db.query<{ id: string }>('select id from conversations where tenant_id = $1 and remote_jid = $2', [tenantId, remoteJid]);
  if (!row) throw new Error(`no conversation ${tenantId} ${remoteJid}`);
  return row.id;
}

/** Runs an `insert … returning id` and gives the id. */
async function insertId(text: string, values: unknown[]): Promise<string> {
  const [row] = await db.query<{ id: string }>(text, values);
  if (!row) throw new Error(`nothing inserted: ${text}`);
  return row.id;
}

async function aiOverride(id: string): Promise<boolean | null | undefined> {
  const [row] = await db.query<{ ai_enabled: boolean | null }>('select ai_enabled from conversations where id = $1', [id]);
  return row?.ai_enabled;
}

beforeAll(async () => {
  db = await createTestDatabase();
  prefix = uniquePrefix();
  harness = await startHarness({ databaseUrl: db.url, redisUrl: SHARED_REDIS_URL, prefix });
  await harness.container.tenants.create({ id: 'acme', name: 'Acme', webhook_secret: null, system_prompt: null });
  await harness.container.tenants.create({ id: 'beta', name: 'Beta', webhook_secret: null, system_prompt: null, ai_enabled: false });
  await harness.startWorker();

  // acme: 25 chats, chat i last written at BASE + i minutes; chat 0 is a thread of 7 messages
  // (all before chat 1's message). beta: one chat.
  const bodies = [
    ...Array.from({ length: CHATS }, (_, i) =>
      textMessageBody({ id: `CHAT-${i}`, remoteJid: chatJid(i), text: `Hello from chat ${i}`, timestamp: BASE + i * 60 + (i === 0 ? THREAD_MESSAGES : 0) }),
    ),
    ...Array.from({ length: THREAD_MESSAGES }, (_, k) =>
      textMessageBody({ id: `THREAD-${k}`, remoteJid: chatJid(0), text: `Thread message ${k}`, timestamp: BASE + k }),
    ),
    textMessageBody({ tenantId: 'beta', id: 'BETA-1', remoteJid: BETA_JID, text: 'Beta secret', timestamp: BASE }),
  ];
  for (const answer of await Promise.all(bodies.map((b) => harness.postAsGateway(b)))) expect(answer.status).toBe(200);
  await waitFor(async () => Number((await db.query<{ n: string }>('select count(*) as n from messages'))[0]?.n) === bodies.length, {
    what: 'every message to be stored',
  });
  for (let i = 0; i < CHATS; i += 1) acmeIds.set(i, await conversationId('acme', chatJid(i)));
  betaId = await conversationId('beta', BETA_JID);
});

afterAll(async () => {
  await harness.close();
  await deletePrefix(prefix);
  await db.drop();
});

const acmeId = (i: number): string => {
  const id = acmeIds.get(i);
  if (id === undefined) throw new Error(`no chat ${i}`);
  return id;
};

describe('GET /api/tenants/:id/conversations', () => {
  it('pages the conversations newest first, 20 by default, with the total', async () => {
    const first = await call('GET', '/api/tenants/acme/conversations');
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ total: CHATS, limit: 20, offset: 0 });
    expect(items(first).map((c) => c['remoteJid'])).toEqual(Array.from({ length: 20 }, (_, n) => chatJid(CHATS - 1 - n)));

    const rest = await call('GET', '/api/tenants/acme/conversations?limit=10&offset=20');
    expect(rest.body).toMatchObject({ total: CHATS, limit: 10, offset: 20 });
    expect(items(rest).map((c) => c['remoteJid'])).toEqual([4, 3, 2, 1, 0].map(chatJid));

    const beyond = await call('GET', '/api/tenants/acme/conversations?limit=5&offset=100');
    expect(beyond.body).toEqual({ items: [], total: CHATS, limit: 5, offset: 100 });
  });

  it('a conversation reads as its view: the override, the effective setting and ISO dates', async () => {
    const [newest] = items(await call('GET', '/api/tenants/acme/conversations?limit=1'));
    expect(newest).toEqual({
      id: acmeId(CHATS - 1),
      remoteJid: chatJid(CHATS - 1),
      chatType: 'direct',
      aiEnabled: null,
      effectiveAiEnabled: true,
      summary: null,
      lastMessageAt: new Date((BASE + (CHATS - 1) * 60) * 1000).toISOString(),
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
  });

  it("a tenant lists only its own conversations; the tenant's AI setting is the default", async () => {
    const beta = await call('GET', '/api/tenants/beta/conversations');
    expect(beta.body).toMatchObject({ total: 1 });
    expect(items(beta)).toEqual([expect.objectContaining({ id: betaId, remoteJid: BETA_JID, aiEnabled: null, effectiveAiEnabled: false })]);
  });
});

describe('GET /api/tenants/:id/conversations/:cid/messages', () => {
  it('pages the messages of one conversation newest first, with the total', async () => {
    const url = `/api/tenants/acme/conversations/${acmeId(0)}/messages`;
    const first = await call('GET', `${url}?limit=3`);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ total: THREAD_MESSAGES + 1, limit: 3, offset: 0 });
    expect(items(first).map((m) => m['waMessageId'])).toEqual(['CHAT-0', 'THREAD-6', 'THREAD-5']);

    const last = await call('GET', `${url}?limit=3&offset=6`);
    expect(items(last).map((m) => m['waMessageId'])).toEqual(['THREAD-1', 'THREAD-0']);

    const all = await call('GET', url);
    expect(all.body).toMatchObject({ total: THREAD_MESSAGES + 1, limit: 20, offset: 0 });
    expect(items(all)).toHaveLength(THREAD_MESSAGES + 1);
  });

  it('a message stored by the pipeline reads as its view', async () => {
    const [message] = items(await call('GET', `/api/tenants/acme/conversations/${acmeId(3)}/messages`));
    expect(message).toMatchObject({
      waMessageId: 'CHAT-3',
      fromMe: false,
      kind: 'text',
      text: 'Hello from chat 3',
      senderJid: chatJid(3),
      sentAt: new Date((BASE + 3 * 60) * 1000).toISOString(),
      deletedAt: null,
      editedAt: null,
      reactions: {},
      outboxId: null,
    });
  });

  it('every field of a message reads as its view: reply state, outbox link, reactions, edits and revokes', async () => {
    // Rows written directly, so every column has a known value.
    await db.query("insert into tenants (id, name) values ('gamma', 'Gamma')");
    const cid = await insertId(
      "insert into conversations (tenant_id, remote_jid, chat_type, last_message_at) values ('gamma', $1, 'direct', $2) returning id",
      ['972511111111@s.whatsapp.net', '2025-06-01T10:00:05Z'],
    );
    const outboxId = await insertId(
      "insert into outbox (tenant_id, conversation_id, to_jid, text, purpose, state) values ('gamma', $1, $2, 'We open at 9.', 'reply', 'sent') returning id",
      [cid, '972511111111@s.whatsapp.net'],
    );
    const inboundId = await insertId(
      `insert into messages (tenant_id, conversation_id, remote_jid, wa_message_id, from_me, sender_jid, kind, text, reactions, sent_at,
         status, deleted_at, edited_at, reply_state, reply_note)
       values ('gamma', $1, $2, 'IN-1', false, $2, 'text', 'When do you open?', $3, '2025-06-01T10:00:00Z', null,
         '2025-06-01T10:02:00Z', '2025-06-01T10:01:00Z', 'answered', null) returning id`,
      [cid, '972511111111@s.whatsapp.net', JSON.stringify({ '972511111111@s.whatsapp.net': '👍' })],
    );
    const outboundId = await insertId(
      `insert into messages (tenant_id, conversation_id, remote_jid, wa_message_id, from_me, sender_jid, kind, text, sent_at, status,
         reply_state, reply_note, outbox_id)
       values ('gamma', $1, $2, 'OUT-1', true, $2, 'text', 'We open at 9.', '2025-06-01T10:00:05Z', 4, 'skipped', 'human_takeover', $3)
       returning id`,
      [cid, '972511111111@s.whatsapp.net', outboxId],
    );

    const answer = await call('GET', `/api/tenants/gamma/conversations/${cid}/messages`);
    expect(answer.body).toEqual({
      total: 2,
      limit: 20,
      offset: 0,
      items: [
        {
          id: outboundId,
          waMessageId: 'OUT-1',
          fromMe: true,
          kind: 'text',
          text: 'We open at 9.',
          senderJid: '972511111111@s.whatsapp.net',
          sentAt: '2025-06-01T10:00:05.000Z',
          status: 4,
          deletedAt: null,
          editedAt: null,
          reactions: {},
          replyState: 'skipped',
          replyNote: 'human_takeover',
          outboxId,
        },
        {
          id: inboundId,
          waMessageId: 'IN-1',
          fromMe: false,
          kind: 'text',
          text: 'When do you open?',
          senderJid: '972511111111@s.whatsapp.net',
          sentAt: '2025-06-01T10:00:00.000Z',
          status: null,
          deletedAt: '2025-06-01T10:02:00.000Z',
          editedAt: '2025-06-01T10:01:00.000Z',
          reactions: { '972511111111@s.whatsapp.net': '👍' },
          replyState: 'answered',
          replyNote: null,
          outboxId: null,
        },
      ],
    });
  });
});

describe('PATCH /api/tenants/:id/conversations/:cid', () => {
  it('switches the AI off, on, and back to following the tenant', async () => {
    const id = acmeId(5);
    const url = `/api/tenants/acme/conversations/${id}`;

    const off = await call('PATCH', url, { aiEnabled: false });
    expect(off.status).toBe(200);
    expect(off.body).toMatchObject({ id, remoteJid: chatJid(5), aiEnabled: false, effectiveAiEnabled: false });
    expect(await aiOverride(id)).toBe(false);
    const listed = items(await call('GET', '/api/tenants/acme/conversations?limit=25')).find((c) => c['id'] === id);
    expect(listed).toMatchObject({ aiEnabled: false, effectiveAiEnabled: false });

    expect((await call('PATCH', url, { aiEnabled: true })).body).toMatchObject({ aiEnabled: true, effectiveAiEnabled: true });
    expect(await aiOverride(id)).toBe(true);

    expect((await call('PATCH', url, { aiEnabled: null })).body).toMatchObject({ aiEnabled: null, effectiveAiEnabled: true });
    expect(await aiOverride(id)).toBeNull();
  });

  it("an override wins over the tenant's setting in both directions", async () => {
    const url = `/api/tenants/beta/conversations/${betaId}`;
    expect((await call('PATCH', url, { aiEnabled: true })).body).toMatchObject({ aiEnabled: true, effectiveAiEnabled: true });
    expect((await call('PATCH', url, { aiEnabled: null })).body).toMatchObject({ aiEnabled: null, effectiveAiEnabled: false });
  });
});

describe('scoping and input', () => {
  it('401 without the admin token, or with a wrong one', async () => {
    const id = acmeId(1);
    const noToken: Array<Record<string, string>> = [{}, { authorization: 'Bearer wrong' }];
    for (const headers of noToken) {
      expect((await call('GET', '/api/tenants/acme/conversations', undefined, headers)).body).toEqual({ error: 'unauthorized' });
      expect((await call('GET', `/api/tenants/acme/conversations/${id}/messages`, undefined, headers)).status).toBe(401);
      expect((await call('PATCH', `/api/tenants/acme/conversations/${id}`, { aiEnabled: false }, headers)).status).toBe(401);
    }
    expect(await aiOverride(id)).toBeNull();
  });

  it("another tenant's conversation id is 404: no data leaks and nothing changes", async () => {
    const id = acmeId(2);
    const notFound = { error: 'not_found', message: 'Conversation not found' };
    const answers = [
      await call('GET', `/api/tenants/beta/conversations/${id}/messages`),
      await call('PATCH', `/api/tenants/beta/conversations/${id}`, { aiEnabled: false }),
      await call('PATCH', `/api/tenants/beta/conversations/${id}`, { aiEnabled: true }),
    ];
    for (const answer of answers) {
      expect(answer.status).toBe(404);
      expect(answer.body).toEqual(notFound);
      expect(answer.raw).not.toContain(chatJid(2));
      expect(answer.raw).not.toContain('Hello from chat 2');
    }
    expect(await aiOverride(id)).toBeNull();
    expect(items(await call('GET', '/api/tenants/beta/conversations?limit=100')).map((c) => c['id'])).toEqual([betaId]);
    // And the other way round.
    expect((await call('GET', `/api/tenants/acme/conversations/${betaId}/messages`)).raw).not.toContain('Beta secret');
  });

  it('404 for an unknown tenant or conversation', async () => {
    const tenantNotFound = { error: 'not_found', message: 'Tenant not found' };
    expect((await call('GET', '/api/tenants/nobody/conversations')).body).toEqual(tenantNotFound);
    expect((await call('GET', `/api/tenants/nobody/conversations/${acmeId(1)}/messages`)).body).toEqual(tenantNotFound);
    expect((await call('PATCH', `/api/tenants/nobody/conversations/${acmeId(1)}`, { aiEnabled: false })).body).toEqual(tenantNotFound);
    // Ids that exist nowhere, including the largest bigint and one past it (which PostgreSQL cannot even parse).
    for (const cid of ['999999', '9223372036854775807', '9223372036854775808']) {
      expect((await call('GET', `/api/tenants/acme/conversations/${cid}/messages`)).status, cid).toBe(404);
      expect((await call('PATCH', `/api/tenants/acme/conversations/${cid}`, { aiEnabled: false })).status, cid).toBe(404);
    }
  });

  it('400 for a malformed tenant or conversation id, query or body', async () => {
    const id = acmeId(1);
    const bad: Array<[method: 'GET' | 'PATCH', url: string, body?: unknown]> = [
      ['GET', '/api/tenants/acme/conversations/abc/messages'],
      ['GET', '/api/tenants/acme/conversations/-1/messages'],
      ['GET', '/api/tenants/acme/conversations/1.5/messages'],
      ['GET', '/api/tenants/acme/conversations/99999999999999999999/messages'],
      ['PATCH', '/api/tenants/acme/conversations/abc', { aiEnabled: false }],
      ['GET', '/api/tenants/BAD!/conversations'],
      ['GET', '/api/tenants/acme/conversations?limit=0'],
      ['GET', '/api/tenants/acme/conversations?limit=101'],
      ['GET', '/api/tenants/acme/conversations?limit=ten'],
      ['GET', '/api/tenants/acme/conversations?limit=2.5'],
      ['GET', '/api/tenants/acme/conversations?offset=-1'],
      ['GET', '/api/tenants/acme/conversations?page=2'],
      ['GET', `/api/tenants/acme/conversations/${id}/messages?limit=500`],
      ['PATCH', `/api/tenants/acme/conversations/${id}`, {}],
      ['PATCH', `/api/tenants/acme/conversations/${id}`, { aiEnabled: 'yes' }],
      ['PATCH', `/api/tenants/acme/conversations/${id}`, { aiEnabled: false, summary: 'overwritten' }],
    ];
    for (const [method, url, body] of bad) {
      const answer = await call(method, url, body);
      expect(answer.status, `${method} ${url} ${JSON.stringify(body)}`).toBe(400);
      expect(answer.body['error']).toBe('bad_request');
    }
    expect(await aiOverride(id)).toBeNull();
  });
});
