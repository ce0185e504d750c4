/**
 * Picks the AI provider from configuration: the OpenAI-compatible one when a key is configured, the
 * offline template one otherwise, so the embedded default runs with no network.
 */
import { createOpenAiProvider } from './openai-provider.js';
import type { ReplyGenerator } from './reply-generator.js';
import { createTemplateProvider } from './template-provider.js';

export * from './reply-generator.js';
export { createOpenAiProvider, type OpenAiProviderOptions } from './openai-provider.js';
export { createTemplateProvider } from './template-provider.js';

/** The offline reply when a tenant has no template of its own. `{name}` is the customer's name. */
export const DEFAULT_REPLY_TEMPLATE =
  "Hi {name}, thanks for your message! We've received it and will get back to you shortly.";

/** The reply to a voice note until transcription exists. */
export const DEFAULT_VOICE_NOTE_REPLY =
  "Thanks for your voice message! We can't listen to voice notes yet; please write to us and we'll answer right away.";

export interface ReplyGeneratorOptions {
  /** OPENAI_API_KEY; absent or empty selects the offline template provider. */
  apiKey?: string;
  baseURL?: string;
  model: string;
  timeoutMs: number;
}

export function createReplyGenerator(options: ReplyGeneratorOptions): ReplyGenerator {
  if (!options.apiKey) return createTemplateProvider();
  return createOpenAiProvider({
    apiKey: options.apiKey,
    model: options.model,
    timeoutMs: options.timeoutMs,
    ...(options.baseURL ? { baseURL: options.baseURL } : {}),
  });
}
