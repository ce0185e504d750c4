/**
 * An abort signal that fires after `ms`, with an explicit timer the caller clears. Used instead of
 * `AbortSignal.timeout`, whose timer Node 20 may let go of (weakly held, unref'd) under load, which
 * left a stalled HTTP call hanging for good.
 */
export interface Deadline {
  signal: AbortSignal;
  clear(): void;
}

export function startDeadline(ms: number): Deadline {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException(`Timed out after ${ms} ms`, 'TimeoutError')), ms);
  return { signal: controller.signal, clear: () => clearTimeout(timer) };
}
