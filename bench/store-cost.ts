/**
 * What storing one message costs PostgreSQL and the client, statement by statement, with nothing
 * else running: the figure behind docs/performance.md's "batch the worker's database writes".
 *
 *   npm run bench:store
 *
 * Arrange: a fresh migrated database with tenant `bench`. Act: BENCH_MESSAGES (default 3,000) text
 * messages from 300 chats, stored in six ways:
 *   1. the messages repository's `store`, one message at a time (Kysely, one statement, its own
 *      transaction): what a lone `webhook_process` job does;
 *   2. the same function call through `pg` as a named (prepared) statement, one transaction each;
 *   3. and 4. the prepared call, 10 and 50 messages per transaction (one statement each);
 *   5. and 6. the repository with batching, 10 and 50 stores at once: what concurrent jobs do (one
 *      statement and one transaction per batch).
 * Report PostgreSQL's CPU (its backend's utime + stime from /proc) and this process's CPU per message.
 * Assert: every variant stored every message (rows counted). The database is dropped in `finally`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { openDatabase } from '../src/db/database.js';
import { createMessagesRepository } from '../src/db/repositories/messages.repository.js';
import { storeArguments } from '../src/db/repositories/message-store-function.js';
import type { NormalizedMessage } from '../src/whatsapp/message.types.js';
import { normalizedTextMessage } from '../test/support/fixtures.js';
import { RESULTS_DIR, createBenchDatabase, dropBenchDatabase, gitState, intEnv, randomHex, round, say, snapshotCpu } from './support.js';

const TENANT_ID = 'bench';

/** The statement the repository sends for a plain text message (migration 0007's function). */
const STORE_SQL = `select * from switchboard_store_message($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,
  $16::jsonb, $17::jsonb, $18::jsonb, $19, $20, $21::boolean, $22::timestamptz, $23::smallint, $24, $25::timestamptz)`;

let sequence = 0;
function nextMessage(): NormalizedMessage {
  const n = sequence++;
  return { ...normalizedTextMessage(`3EB0STORE${n.toString(16).padStart(8, '0')}`, `${4915100000000 + (n % 300)}@s.whatsapp.net`), sentAt: new Date() };
}

/** The function's parameters, in order, for a plain text message (built as the repository builds them). */
function statementValues(m: NormalizedMessage): unknown[] {
  const a = storeArguments(TENANT_ID, m, { awaitsReply: true, receivedAt: new Date() });
  return [a.lockKey, true, a.tenantId, a.remoteJid, a.waMessageId, a.fromMe, a.chatType, a.contactJid, a.contactPhone, a.contactPushName,
    a.senderJid, a.participant, a.kind, a.contentType, a.text, a.media, a.location, a.contacts, a.quotedMessageId, a.targetId,
    a.targetFromMe, a.sentAt, a.status, a.awaitsReply, a.receivedAt];
}

/** A PostgreSQL backend's CPU so far, in milliseconds. */
function backendCpuMs(pid: number): number {
  const cpu = snapshotCpu().get(pid);
  if (!cpu) throw new Error(`PostgreSQL backend ${pid} is gone`);
  return cpu.cpuSeconds * 1000;
}

interface Row {
  variant: string;
  'PostgreSQL CPU ms / message': number;
  'client CPU ms / message': number;
  'wall ms / message': number;
}

async function measure(variant: string, messages: number, backendPid: number, run: () => Promise<void>): Promise<Row> {
  const pgBefore = backendCpuMs(backendPid);
  const clientBefore = process.cpuUsage();
  const started = performance.now();
  await run();
  const wallMs = performance.now() - started;
  const client = process.cpuUsage(clientBefore);
  return {
    variant,
    'PostgreSQL CPU ms / message': round((backendCpuMs(backendPid) - pgBefore) / messages, 3),
    'client CPU ms / message': round((client.user + client.system) / 1000 / messages, 3),
    'wall ms / message': round(wallMs / messages, 3),
  };
}

async function main(): Promise<void> {
  const messages = intEnv('BENCH_MESSAGES', 3000, 100);
  const dbName = `switchboard_bench_${randomHex(6)}`;
  const url = await createBenchDatabase(dbName, { id: TENANT_ID, name: 'Benchmark tenant' });
  const handle = await openDatabase({ url, dataDir: join(RESULTS_DIR, 'unused'), poolSize: 1 });
  const client = new pg.Client(url);
  try {
    await client.connect();
    // Warm both connections (plans, caches) outside the measurement; the pool connects on first use.
    const repository = createMessagesRepository(handle.db, { batchStores: false });
    for (let i = 0; i < 200; i++) await repository.store(TENANT_ID, nextMessage(), { awaitsReply: true });
    for (let i = 0; i < 200; i++) await client.query({ name: 'store', text: STORE_SQL, values: statementValues(nextMessage()) });
    const ownPid = Number((await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]?.pid);
    const others = await client.query<{ pid: number }>('select pid from pg_stat_activity where datname = $1 and pid <> $2', [dbName, ownPid]);
    if (others.rows.length !== 1) throw new Error(`Expected the repository's one connection, found ${others.rows.length}`);
    const poolPid = Number(others.rows[0]?.pid);

    const rows: Row[] = [];
    rows.push(
      await measure('repository.store, one at a time (own statement and transaction)', messages, poolPid, async () => {
        for (let i = 0; i < messages; i++) await repository.store(TENANT_ID, nextMessage(), { awaitsReply: true });
      }),
    );
    rows.push(
      await measure('prepared statement, one per transaction', messages, ownPid, async () => {
        for (let i = 0; i < messages; i++) await client.query({ name: 'store', text: STORE_SQL, values: statementValues(nextMessage()) });
      }),
    );
    for (const perTransaction of [10, 50]) {
      rows.push(
        await measure(`prepared statement, ${perTransaction} per transaction`, messages, ownPid, async () => {
          for (let i = 0; i < messages; i += perTransaction) {
            await client.query('begin');
            for (let j = 0; j < perTransaction; j++) await client.query({ name: 'store', text: STORE_SQL, values: statementValues(nextMessage()) });
            await client.query('commit');
          }
        }),
      );
    }
    // What the worker does now: concurrent stores share one statement (MessageStoreBatcher).
    const batched = createMessagesRepository(handle.db, { batchStores: true });
    for (const concurrent of [10, 50]) {
      rows.push(
        await measure(`repository.store with batching, ${concurrent} at once (one statement)`, messages, poolPid, async () => {
          for (let i = 0; i < messages; i += concurrent) {
            await Promise.all(Array.from({ length: concurrent }, () => batched.store(TENANT_ID, nextMessage(), { awaitsReply: true })));
          }
        }),
      );
    }
    const stored = Number((await client.query<{ n: string }>('select count(*) as n from messages')).rows[0]?.n);
    if (stored !== sequence) throw new Error(`FAIL: ${stored} messages stored, ${sequence} sent`);
    console.table(rows);
    say(`${messages} messages per variant, 300 chats; every message stored (${stored} rows)`);
    mkdirSync(RESULTS_DIR, { recursive: true });
    const file = join(RESULTS_DIR, `store-cost-${new Date().toISOString().replace(/:/g, '-')}.json`);
    writeFileSync(file, JSON.stringify({ ...gitState(), messages, rows }, null, 2));
    say(`Summary written to ${file}`);
  } finally {
    await client.end().catch(() => undefined);
    await handle.close();
    await dropBenchDatabase(dbName);
  }
}

await main();
