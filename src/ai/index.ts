/**
 * Picks the AI provider from configuration: the OpenAI-compatible one when a key is configured, the
 * offline template one otherwise, so the embedded default runs with no network.
 */
import type { ReplyGenerator } from './reply-generator.js';
import { createTemplateProvider } from './template-provider.js';

export * from './reply-generator.js';
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
  const { apiKey, timeoutMs } = options;
  if (!apiKey) return createTemplateProvider();
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new Error(`AI timeout must be a positive integer, got ${timeoutMs}`);
  // The `openai` package is loaded on the first call (or by `warmUp`, which the worker calls at
  // start): the API and scheduler roles never ask the AI, and the package would be a tenth of their
  // memory.
  let provider: Promise<ReplyGenerator> | undefined;
  const load = (): Promise<ReplyGenerator> =>
    (provider ??= import('./openai-provider.js').then(({ createOpenAiProvider }) =>
      createOpenAiProvider({ apiKey, model: options.model, timeoutMs, ...(options.baseURL ? { baseURL: options.baseURL } : {}) }),
    ));
  return {
    name: 'openai',
    reply: async (request) => (await load()).reply(request),
    summarize: async (request) => (await load()).summarize(request),
    warmUp: async () => {
      await load();
    },
  };
}
