/**
 * Every migration, in order. Listed explicitly (never discovered from the file system) so the build,
 * the tests and production apply the same list. Append only: an applied migration is never edited.
 */
import * as initial from './0001-initial.js';
import * as replies from './0002-replies.js';
import * as receivedAt from './0003-received-at.js';
import * as reminders from './0004-reminders.js';
import * as broadcasts from './0005-broadcasts.js';
import * as replyJob from './0006-reply-job.js';
import * as storeMessageFunction from './0007-store-message-function.js';
import * as commitReplyFunction from './0008-commit-reply-function.js';
import * as claimReplyFunction from './0009-claim-reply-function.js';
import * as markSentFunction from './0010-mark-sent-function.js';
import * as storeMessagesFunction from './0011-store-messages-function.js';
import * as claimBurstFunction from './0012-claim-burst-function.js';

export interface Migration {
  version: number;
  name: string;
  up: string;
}

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'initial', up: initial.up },
  { version: 2, name: 'replies', up: replies.up },
  { version: 3, name: 'received-at', up: receivedAt.up },
  { version: 4, name: 'reminders', up: reminders.up },
  { version: 5, name: 'broadcasts', up: broadcasts.up },
  { version: 6, name: 'reply-job', up: replyJob.up },
  { version: 7, name: 'store-message-function', up: storeMessageFunction.up },
  { version: 8, name: 'commit-reply-function', up: commitReplyFunction.up },
  { version: 9, name: 'claim-reply-function', up: claimReplyFunction.up },
  { version: 10, name: 'mark-sent-function', up: markSentFunction.up },
  { version: 11, name: 'store-messages-function', up: storeMessagesFunction.up },
  { version: 12, name: 'claim-burst-function', up: claimBurstFunction.up },
];
