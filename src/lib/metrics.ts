/**
 * Prometheus metrics. One registry per process (not prom-client's global one), so several apps in one
 * test process never collide.
 */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  webhooks: Counter<'result'>;
  webhookEvents: Counter<'outcome'>;
  enqueueSeconds: Histogram<never>;
  jobs: Counter<'queue' | 'name' | 'outcome'>;
  jobSeconds: Histogram<'queue' | 'name'>;
}

export function createMetrics(options: { collectDefaults: boolean }): Metrics {
  const registry = new Registry();
  if (options.collectDefaults) collectDefaultMetrics({ register: registry, prefix: 'switchboard_' });
  return {
    registry,
    webhooks: new Counter({
      name: 'switchboard_webhooks_total',
      help: 'Webhook requests by result (ok, bad_request, unauthorized, unknown_tenant, unavailable, …)',
      labelNames: ['result'],
      registers: [registry],
    }),
    webhookEvents: new Counter({
      name: 'switchboard_webhook_events_total',
      help: 'Webhook events by outcome (enqueued, duplicate, ignored)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    enqueueSeconds: new Histogram({
      name: 'switchboard_enqueue_duration_seconds',
      help: 'Time to enqueue one webhook batch in Redis',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    }),
    jobs: new Counter({
      name: 'switchboard_jobs_total',
      help: 'Jobs processed by queue, job name and outcome (completed, retried, failed, postponed)',
      labelNames: ['queue', 'name', 'outcome'],
      registers: [registry],
    }),
    jobSeconds: new Histogram({
      name: 'switchboard_job_duration_seconds',
      help: 'Job processing time',
      labelNames: ['queue', 'name'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
  };
}
