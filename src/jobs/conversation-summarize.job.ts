/**
 * `conversation_summarize`: refreshes a conversation's summary once it has been quiet for
 * SUMMARY_IDLE_MS. Every stored message schedules one; all but the job of the newest message step
 * aside, so a busy chat is summarised once, after it goes quiet. The summary is the AI's context for
 * the next reply.
 */
import { AiPermanentError } from '../ai/reply-generator.js';
import type { ConversationSummarizeJob } from '../queue/job-catalog.js';
import { PermanentJobError } from '../queue/job-errors.js';
import { toChatTurns } from './chat-history.js';
import type { JobHandler } from './job-context.js';

const SUMMARY_SOURCE_MESSAGES = 50;

export const handle: JobHandler<ConversationSummarizeJob> = async (payload, { deps, log }) => {
  const { tenantId, conversationId } = payload;
  const newest = await deps.conversations.newestMessageId(conversationId);
  if (newest !== null && BigInt(newest) > BigInt(payload.triggerMessageId)) return { outcome: 'superseded' };
  const conversation = await deps.conversations.find(tenantId, conversationId);
  if (!conversation) return { outcome: 'conversation_gone' };
  const history = toChatTurns(await deps.conversations.recentMessages(conversationId, SUMMARY_SOURCE_MESSAGES));
  if (history.length < 2) return { outcome: 'too_short' };
  let summary: string;
  try {
    summary = (await deps.ai.summarize({ tenantId, previousSummary: conversation.summary, history })).trim();
  } catch (error) {
    if (error instanceof AiPermanentError) throw new PermanentJobError(`AI provider refused: ${error.message}`);
    throw error;
  }
  if (!summary) return { outcome: 'empty' };
  await deps.conversations.setSummary(tenantId, conversationId, summary);
  log.info({ tenantId, conversationId, length: summary.length }, 'Conversation summarised');
  return { outcome: 'summarised' };
};
