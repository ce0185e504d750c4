/**
 * The whole execution path with a worker running in-process: webhook → Redis → worker → PostgreSQL.
 * Every fixture ends as the right rows; receipts end at the highest status whatever their order.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messageJobId } from '../src/queue/job-ids.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { fixtureText, textMessageBody } from './support/fixtures.js';
import { startHarness, type Harness } from './support/harness.js';
import { SHARED_REDIS_URL, deletePrefix, uniquePrefix } from './support/redis.js';
import { waitFor } from './support/wait.js';

let db: TestDatabase;
let harness: Harness;
let prefix: string;

interface MessageRow {
  wa_message_id: string;
  remote_jid: string;
  from_me: boolean;
  kind: string;
  text: string | null;
  sender_jid: string;
  participant: string | null;
  status: number | null;
  server_ack_at: Date | null;
  delivered_at: Date | null;
  read_at: Date | null;
  deleted_at: Date | null;
  edited_at: Date | null;
  reactions: Record<string, string>;
  media: Record<string, unknown> | null;
  quoted_wa_message_id: string | null;
}

async function message(id: string): Promise<MessageRow | undefined> {
  const [row] = await db.query<MessageRow>('select * from messages where tenant_id = $1 and wa_message_id = $2', ['acme', id]);
  return row;
}

async function waitForMessage(id: string, what = `message ${id}`): Promise<MessageRow> {
  return waitFor(() => message(id), { what });
}

async function jobState(jobId: string): Promise<string | undefined> {
  return (await harness.container.queues.getJob('default', jobId))?.state;
}

beforeAll(async () => {
  db = await createTestDatabase();
  prefix = uniquePrefix();
  harness = await startHarness({ databaseUrl: db.url, redisUrl: SHARED_REDIS_URL, prefix });
  await harness.container.tenants.create({ id: 'acme', name: 'Acme', webhook_secret: null, system_prompt: null });
  await harness.container.tenants.create({ id: 'beta', name: 'Beta', webhook_secret: null, system_prompt: null });
  await harness.startWorker();
});

afterAll(async () => {
  await harness.close();
  await deletePrefix(prefix);
  await db.drop();
});

describe('inbound messages are stored with the right kind, text and jids', () => {
  it('a plain 1:1 text', async () => {
    expect((await harness.post(fixtureText('upsert-text.json'))).status).toBe(200);
    const row = await waitForMessage('3EB0C767D26A1D5F1A2B');
    expect(row).toMatchObject({ kind: 'text', text: 'Hi, is the appointment tomorrow still on?', from_me: false, remote_jid: '972501234567@s.whatsapp.net' });
    const [contact] = await db.query('select jid, phone, push_name from contacts where tenant_id = $1 and jid = $2', ['acme', '972501234567@s.whatsapp.net']);
    expect(contact).toEqual({ jid: '972501234567@s.whatsapp.net', phone: '972501234567', push_name: 'Dana' });
  });

  it('a @lid sender keeps its jid and gets its phone from remoteJidAlt; a group image is an image from its participant', async () => {
    await harness.post(fixtureText('upsert-two-lid-and-group.json'));
    const lid = await waitForMessage('3EB0C1A2B3C4D5E6F70812');
    expect(lid).toMatchObject({ kind: 'text', text: 'Is the 10:30 slot tomorrow still free?', remote_jid: '203445566778899@lid', quoted_wa_message_id: '3EB0AA11BB22CC33DD44' });
    const [lidContact] = await db.query('select phone from contacts where jid = $1', ['203445566778899@lid']);
    expect(lidContact).toEqual({ phone: '972501234567' });

    const group = await waitForMessage('A5F1E2D3C4B5A6978899');
    expect(group).toMatchObject({ kind: 'image', text: 'Photo of the invoice', participant: '112233445566778@lid', sender_jid: '112233445566778@lid' });
    expect(group.media).toMatchObject({ mimetype: 'image/jpeg', fileLength: 48213, width: 960, height: 1280 });
    const [member] = await db.query('select phone from contacts where jid = $1', ['112233445566778@lid']);
    expect(member).toEqual({ phone: '972521112233' });
    const [conversation] = await db.query('select chat_type from conversations where remote_jid = $1', ['120363041234567890@g.us']);
    expect(conversation).toEqual({ chat_type: 'group' });
  });

  it('a voice note', async () => {
    await harness.post(fixtureText('upsert-voice-note.json'));
    const row = await waitForMessage('3EB0D1E2F3A4B5C6D7E8');
    expect(row.kind).toBe('voice');
    expect(row.media).toMatchObject({ mimetype: 'audio/ogg; codecs=opus', seconds: 7, fileLength: 11234 });
  });

  it('wrappers, location, contact, sticker, reaction, revoke, edit, fromMe and a story', async () => {
    await harness.post(fixtureText('upsert-wrapped-and-misc.json'));
    const kinds: Record<string, [string, string | null]> = {
      '3EB0E0000000000000A2': ['image', 'view once'],
      '3EB0E0000000000000A3': ['document', 'Here is the quote'],
      '3EB0E0000000000000A4': ['location', null],
      '3EB0E0000000000000A5': ['contact', null],
      '3EB0E0000000000000A6': ['sticker', null],
      '3EB0E0000000000000A7': ['reaction', '👍'],
      '3EB0E0000000000000A8': ['revoke', null],
      '3EB0E0000000000000A9': ['edit', 'Sent while you were offline (edited)'],
      '3EB0E0000000000000B1': ['text', 'Typed by a person on the business phone'],
      '3EB0E0000000000000C1': ['image', 'my status'],
    };
    for (const [id, [kind, text]] of Object.entries(kinds)) {
      const row = await waitForMessage(id);
      expect(row.kind, id).toBe(kind);
      if (text !== null) expect(row.text, id).toBe(text);
    }
    // The ephemeral text was edited by A9: the edit is applied whichever job ran first.
    const edited = await waitFor(async () => {
      const row = await message('3EB0E0000000000000A1');
      return row?.edited_at ? row : undefined;
    }, { what: 'the edit applied' });
    expect(edited.text).toBe('Sent while you were offline (edited)');
    expect((await message('3EB0E0000000000000B1'))?.from_me).toBe(true);
    // The revoke (A8) targets the upsert-text message stored earlier.
    const revoked = await waitFor(async () => (await message('3EB0C767D26A1D5F1A2B'))?.deleted_at, { what: 'the revoke applied' });
    expect(revoked).toBeInstanceOf(Date);
    const [story] = await db.query('select chat_type from conversations where remote_jid = $1', ['status@broadcast']);
    expect(story).toEqual({ chat_type: 'status' });
  });

  it('a reaction that arrives before its target is applied when the target is stored', async () => {
    await harness.post({
      tenantId: 'acme',
      payload: {
        messages: [
          {
            key: { remoteJid: '972501234567@s.whatsapp.net', fromMe: false, id: 'REACT-EARLY-1' },
            messageTimestamp: 1764480300,
            message: { reactionMessage: { key: { remoteJid: '972501234567@s.whatsapp.net', fromMe: false, id: 'TARGET-LATE-1' }, text: '❤️' } },
          },
        ],
      },
    });
    await waitForMessage('REACT-EARLY-1');
    await harness.post(textMessageBody({ id: 'TARGET-LATE-1', text: 'Thanks!' }));
    const target = await waitFor(async () => {
      const row = await message('TARGET-LATE-1');
      return row && Object.keys(row.reactions).length > 0 ? row : undefined;
    }, { what: 'the early reaction applied' });
    expect(target.reactions).toEqual({ '972501234567@s.whatsapp.net': '❤️' });
  });
});

describe('decryption placeholders', () => {
  it('the stub is ignored, and the real message with the same key.id is stored afterwards', async () => {
    const stub = await harness.post(fixtureText('upsert-ciphertext-stub.json'));
    expect(stub.body).toMatchObject({ enqueued: 0, ignored: 1 });
    const real = JSON.parse(fixtureText('upsert-ciphertext-stub.json')) as { payload: { messages: Array<Record<string, unknown>> } };
    const first = real.payload.messages[0] ?? {};
    delete first['messageStubType'];
    delete first['messageStubParameters'];
    first['message'] = { conversation: 'Decrypted at last' };
    const answer = await harness.post(real);
    expect(answer.body).toMatchObject({ enqueued: 1, duplicates: 0 });
    expect((await waitForMessage('3EB0FACE0000000000D1')).text).toBe('Decrypted at last');
  });
});

describe('effectively once', () => {
  it('1,000 concurrent posts of one message → one job, one stored row', async () => {
    const body = JSON.stringify(textMessageBody({ id: 'BURST-0001' }));
    const answers = await Promise.all(Array.from({ length: 1000 }, () => harness.postAsGateway(body)));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(answers.filter((a) => a.body['enqueued'] === 1).length).toBeLessThanOrEqual(1);
    await waitForMessage('BURST-0001');
    const jobId = messageJobId('acme', { remoteJid: '972501234567@s.whatsapp.net', id: 'BURST-0001', fromMe: false });
    await waitFor(async () => (await jobState(jobId)) === 'completed', { what: 'job completed' });
    const rows = await db.query('select id from messages where wa_message_id = $1', ['BURST-0001']);
    expect(rows).toHaveLength(1);
  });

  it('the same message posted again after its job completed → duplicates: 1, nothing new stored', async () => {
    await harness.post(textMessageBody({ id: 'AFTER-DONE-1' }));
    const jobId = messageJobId('acme', { remoteJid: '972501234567@s.whatsapp.net', id: 'AFTER-DONE-1', fromMe: false });
    await waitFor(async () => (await jobState(jobId)) === 'completed', { what: 'job completed' });
    const again = await harness.post(textMessageBody({ id: 'AFTER-DONE-1' }));
    expect(again.body).toEqual({ status: 'ok', enqueued: 0, duplicates: 1, ignored: 0 });
    expect(await db.query('select id from messages where wa_message_id = $1', ['AFTER-DONE-1'])).toHaveLength(1);
  });

  it('the same key.id from two tenants → two stored messages', async () => {
    await harness.post(textMessageBody({ tenantId: 'acme', id: 'TWO-TENANTS-1' }));
    await harness.post(textMessageBody({ tenantId: 'beta', id: 'TWO-TENANTS-1' }));
    await waitFor(async () => (await db.query('select 1 from messages where wa_message_id = $1', ['TWO-TENANTS-1'])).length === 2, {
      what: 'both tenants stored',
    });
  });
});

describe('receipts', () => {
  const outbound = (id: string) => ({
    tenantId: 'acme',
    payload: {
      type: 'notify',
      messages: [
        {
          key: { remoteJid: '972501234567@s.whatsapp.net', fromMe: true, id },
          messageTimestamp: 1764480800,
          status: 1,
          message: { conversation: 'Yes, see you at 10:30' },
        },
      ],
    },
  });

  it('out of order (READ before SERVER_ACK and DELIVERY_ACK) end at READ with a time per status', async () => {
    await harness.post(outbound('3EB0F00DBEEF00112233'));
    await waitForMessage('3EB0F00DBEEF00112233');
    expect((await harness.post(fixtureText('update-receipts.json'))).body).toMatchObject({ enqueued: 3 });
    const row = await waitFor(async () => {
      const r = await message('3EB0F00DBEEF00112233');
      return r?.read_at && r.delivered_at && r.server_ack_at ? r : undefined;
    }, { what: 'all three statuses applied' });
    expect(row.status).toBe(4);
    expect(row.read_at?.getTime()).toBe(1764480901 * 1000);
    expect(row.delivered_at?.getTime()).toBe(1764480830 * 1000);
    expect(row.server_ack_at?.getTime()).toBe(1764480811 * 1000);
  });

  it('a receipt that arrives before its message is applied once the message is stored', async () => {
    await harness.post({
      tenantId: 'acme',
      event: 'messages.update',
      payload: [{ key: { remoteJid: '972501234567@s.whatsapp.net', fromMe: true, id: 'EARLY-RECEIPT-1' }, update: { status: 3, messageTimestamp: 1764480900 } }],
    });
    await waitFor(async () => (await db.query('select 1 from pending_receipts where wa_message_id = $1', ['EARLY-RECEIPT-1'])).length === 1, {
      what: 'the receipt parked as pending',
    });
    await harness.post(outbound('EARLY-RECEIPT-1'));
    const row = await waitFor(async () => {
      const r = await message('EARLY-RECEIPT-1');
      return r?.status === 3 ? r : undefined;
    }, { what: 'the pending receipt applied' });
    expect(row.delivered_at?.getTime()).toBe(1764480900 * 1000);
    expect(await db.query('select 1 from pending_receipts where wa_message_id = $1', ['EARLY-RECEIPT-1'])).toHaveLength(0);
  });

  it('group receipts are kept per member', async () => {
    await harness.post({
      tenantId: 'acme',
      payload: {
        messages: [
          {
            key: { remoteJid: '120363041234567890@g.us', fromMe: true, id: '3EB0AB12CD34EF56AA77' },
            messageTimestamp: 1764480940,
            message: { conversation: 'Meeting moved to 11:00' },
          },
        ],
      },
    });
    await harness.post(fixtureText('receipt-group.json'));
    const receipt = await waitFor(async () => {
      const [r] = await db.query<{ status: number; delivered_at: Date | null; read_at: Date | null }>(
        `select r.status, r.delivered_at, r.read_at from message_receipts r join messages m on m.id = r.message_id
          where m.wa_message_id = $1 and r.user_jid = $2`,
        ['3EB0AB12CD34EF56AA77', '112233445566778@lid'],
      );
      return r?.read_at && r.delivered_at ? r : undefined;
    }, { what: 'both group receipts applied' });
    expect(receipt.status).toBe(4);
  });
});
