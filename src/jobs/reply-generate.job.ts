/**
 * `reply_generate`: answers a conversation's pending customer messages with one reply, exactly once.
 *
 * 1. Claim the conversation's unanswered messages under this job's id, and re-enqueue the sends of
 *    replies an earlier run committed but may not have enqueued (crash window); one statement. The
 *    job was armed by the first message of the burst; the later ones scheduled nothing and are
 *    claimed here too. Until the burst has been quiet for REPLY_DEBOUNCE_MS the job postpones itself
 *    (the debounce). Claims of an earlier job that has not committed are taken over; that job then
 *    commits nothing.
 * 2. Apply the reply policy; ask the AI (outside any transaction: it may take seconds).
 * 3. Commit the reply as one outbox row and mark the claimed messages answered, atomically; enqueue
 *    its send. A re-run after step 3 finds nothing to claim and only re-enqueues the (deduplicated) send.
 */
import { AiPermanentError } from '../ai/reply-generator.js';
import { DEFAULT_REPLY_TEMPLATE, DEFAULT_VOICE_NOTE_REPLY } from '../ai/index.js';
import { errorMessage } from '../lib/errors.js';
import type { ReplyGenerateJob } from '../queue/job-catalog.js';
import { PermanentJobError } from '../queue/job-errors.js';
import { sendJobId, summaryJobId } from '../queue/job-ids.js';
import { toChatTurns } from './chat-history.js';
import type { JobDeps, JobHandler } from './job-context.js';
import { decideReply } from './reply-policy.js';

async function enqueueSend(deps: JobDeps, tenantId: string, outboxId: string): Promise<void> {
  await deps.queues.enqueue('send_message', { tenantId, outboxId }, sendJobId(tenantId, outboxId));
}

export const handle: JobHandler<ReplyGenerateJob> = async (payload, { deps, log, job }) => {
  const { tenantId, conversationId } = payload;
  const claimedBy = job.id;
  const claim = await deps.replies.claim({
    conversationId,
    triggerMessageId: payload.triggerMessageId,
    claimedBy,
    quietMs: deps.settings.debounceMs,
  });
  for (const outboxId of claim.unsentOutboxIds) await enqueueSend(deps, tenantId, outboxId);
  if (claim.kind === 'wait') return job.postpone(claim.untilEpochMs);
  if (claim.kind === 'superseded') {
    log.info({ tenantId, conversationId }, 'Another reply job answers these messages');
    return { outcome: 'superseded' };
  }
  if (claim.messages.length === 0) return { outcome: 'nothing_pending' };

  const lastCustomer = [...claim.messages].reverse().find((m) => !m.from_me);
  const context = await deps.conversations.replyContext(tenantId, conversationId, lastCustomer?.sender_jid ?? null, deps.settings.historyMessages);
  if (!context) throw new PermanentJobError(`Conversation ${conversationId} of tenant ${tenantId} no longer exists`);
  const { tenant, conversation } = context;
  // Unanswered customer messages still refresh the summary once the chat goes quiet (an answered
  // burst gets it after the reply's send).
  const settle = async (state: 'skipped' | 'failed', note: string): Promise<void> => {
    await deps.replies.settle(claimedBy, state, note);
    const newest = claim.messages[claim.messages.length - 1];
    if (newest && conversation.chat_type === 'direct') {
      await deps.queues.enqueue(
        'conversation_summarize',
        { tenantId, conversationId, triggerMessageId: newest.id },
        summaryJobId(tenantId, newest.id),
        deps.settings.summaryIdleMs,
      );
    }
  };
  const decision = decideReply({
    tenant,
    conversation,
    messages: claim.messages,
    lastHumanMessageAt: context.lastHumanMessageAt,
    now: new Date(),
    settings: deps.settings,
  });
  if (decision.action === 'skip') {
    await settle('skipped', decision.reason);
    log.info({ tenantId, conversationId, reason: decision.reason, messages: claim.messages.length }, 'Not answering');
    return { outcome: 'skipped', reason: decision.reason };
  }

  let text: string;
  if (decision.action === 'voice_note_notice') {
    text = tenant.voice_note_reply ?? DEFAULT_VOICE_NOTE_REPLY;
  } else {
    const history = toChatTurns(context.history);
    try {
      text = await deps.ai.reply({
        tenantId,
        systemPrompt: tenant.system_prompt ?? `You are the WhatsApp assistant of ${tenant.name}. Answer briefly and helpfully.`,
        summary: conversation.summary,
        history,
        template: tenant.reply_template ?? DEFAULT_REPLY_TEMPLATE,
        customerName: context.customerName,
      });
    } catch (error) {
      if (error instanceof AiPermanentError) {
        await settle('failed', `AI provider refused: ${error.message}`);
        throw new PermanentJobError(`AI provider refused: ${error.message}`);
      }
      // Out of attempts: say so on the messages too, instead of leaving them claimed forever.
      if (job.attemptsMade + 1 >= job.maxAttempts) await settle('failed', `AI provider failed: ${errorMessage(error)}`);
      throw error;
    }
  }
  if (!text.trim()) {
    await settle('skipped', 'empty_ai_answer');
    log.warn({ tenantId, conversationId }, 'The AI answered nothing; no reply sent');
    return { outcome: 'skipped', reason: 'empty_ai_answer' };
  }

  const lastMessage = claim.messages[claim.messages.length - 1];
  if (!lastMessage) return { outcome: 'nothing_pending' };
  const outbox = await deps.replies.commit({
    tenantId,
    conversationId,
    toJid: conversation.remote_jid,
    text: text.trim(),
    replyToMessageId: lastMessage.id,
    claimedBy,
  });
  if (!outbox) {
    log.info({ tenantId, conversationId }, 'A later reply took these messages over; nothing to send');
    return { outcome: 'taken_over' };
  }
  await enqueueSend(deps, tenantId, outbox.id);
  log.info({ tenantId, conversationId, outboxId: outbox.id, answered: claim.messages.length, provider: deps.ai.name }, 'Reply committed');
  return { outcome: 'answered', outboxId: outbox.id, answered: claim.messages.length };
};

