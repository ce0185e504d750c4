/** Readiness checks shared by the API's routes and the worker's and scheduler's small health server. */
import { errorMessage } from './errors.js';
import { withTimeout } from './shutdown.js';

export interface ReadinessProbe {
  name: string;
  /** Resolves with a reason when not ready, undefined when ready. */
  check(): Promise<string | undefined>;
}

export interface Readiness {
  isReady: boolean;
  checks: Record<string, { ok: boolean; reason?: string }>;
}

const PROBE_TIMEOUT_MS = 1000;

export async function checkReadiness(probes: ReadinessProbe[]): Promise<Readiness> {
  const results = await Promise.all(
    probes.map(async (probe) => {
      try {
        const reason = await withTimeout(probe.check(), PROBE_TIMEOUT_MS, () => new Error('no answer within 1 s'));
        return [probe.name, reason === undefined ? { ok: true } : { ok: false, reason }] as const;
      } catch (error) {
        return [probe.name, { ok: false, reason: errorMessage(error) }] as const;
      }
    }),
  );
  return { isReady: results.every(([, r]) => r.ok), checks: Object.fromEntries(results) };
}
