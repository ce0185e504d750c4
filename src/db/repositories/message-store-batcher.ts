/**
 * Stores the messages of concurrent `webhook_process` jobs together: the stores asked for while the
 * previous batch was running go to PostgreSQL as one statement (`switchboard_store_messages`, up to
 * MAX_BATCH messages) instead of one each. `npm run bench:store` compares the two.
 *
 * What a batch changes, and how each case is handled:
 * - All or nothing: a batch is one statement, so a failure writes none of it. Every message of a
 *   failed batch is then stored on its own, so a message that cannot be stored fails alone, with its
 *   own error, and the others go through.
 * - Locks: a batch holds the locks of all its messages until it commits. The function takes every
 *   identity lock first, in one global order, then the rows, in conversation order (the batch is
 *   sorted here); one batch runs at a time per process. A reaction's or receipt's transaction
 *   (identity first, then rows) therefore queues behind a batch instead of deadlocking with it. Two
 *   batches from different worker processes can still deadlock on row locks (a group message locks
 *   its member's contact before the group's conversation); PostgreSQL breaks that after
 *   `deadlock_timeout` by failing one, which falls back as above.
 * - The same message twice (a redelivery racing the original): the copy waits for the next batch,
 *   so within one statement every identity is distinct and the copy answers "already stored".
 */
import type { Database } from '../database.js';
import { callStoreFunction, callStoreFunctionForEach, type StoreArguments, type StoreOutcome } from './message-store-function.js';

const MAX_BATCH = 50;

interface PendingStore {
  args: StoreArguments;
  resolve: (outcome: StoreOutcome | undefined) => void;
  reject: (error: unknown) => void;
}

export class MessageStoreBatcher {
  private pending: PendingStore[] = [];
  private isFlushScheduled = false;
  private isBatchRunning = false;

  constructor(private readonly db: Database) {}

  /** Stores the message with the fast path; undefined when it needs the transactional path (nothing written). */
  store(args: StoreArguments): Promise<StoreOutcome | undefined> {
    return new Promise((resolve, reject) => {
      this.pending.push({ args, resolve, reject });
      this.scheduleFlush();
    });
  }

  private scheduleFlush(): void {
    if (this.isFlushScheduled || this.isBatchRunning) return;
    this.isFlushScheduled = true;
    setImmediate(() => void this.flush());
  }

  private async flush(): Promise<void> {
    this.isFlushScheduled = false;
    this.isBatchRunning = true;
    try {
      await this.runBatch();
    } finally {
      this.isBatchRunning = false;
      if (this.pending.length > 0) this.scheduleFlush();
    }
  }

  private async runBatch(): Promise<void> {
    const batch: PendingStore[] = [];
    const later: PendingStore[] = [];
    const identities = new Set<string>();
    for (const item of this.pending) {
      if (batch.length < MAX_BATCH && !identities.has(item.args.lockKey)) {
        identities.add(item.args.lockKey);
        batch.push(item);
      } else {
        later.push(item);
      }
    }
    this.pending = later;
    if (batch.length === 1) {
      const [only] = batch as [PendingStore];
      await callStoreFunction(this.db, only.args, true).then(only.resolve, only.reject);
      return;
    }
    batch.sort(byConversation);
    try {
      const outcomes = await callStoreFunctionForEach(this.db, batch.map((item) => item.args));
      batch.forEach((item, index) => item.resolve(outcomes[index]));
    } catch {
      // One at a time: each message gets its own answer or its own error.
      await Promise.all(batch.map((item) => callStoreFunction(this.db, item.args, true).then(item.resolve, item.reject)));
    }
  }
}

function byConversation(a: PendingStore, b: PendingStore): number {
  return compare(a.args.tenantId, b.args.tenantId) || compare(a.args.remoteJid, b.args.remoteJid) || compare(a.args.lockKey, b.args.lockKey);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
