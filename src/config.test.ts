import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, requireDeployedSettings } from './config.js';
import { QUEUE_NAMES } from './queue/queue-names.js';

describe('loadConfig', () => {
  it('runs on no environment at all with the embedded defaults of role "all"', () => {
    const config = loadConfig({});
    expect(config.SERVICE_ROLE).toBe('all');
    expect(config.PORT).toBe(3000);
    expect(config.WORKER_QUEUES).toEqual([...QUEUE_NAMES]);
    expect(config.WORKER_CONCURRENCY.default).toBe(8);
    expect(config.WEBHOOK_BODY_LIMIT).toBe(5 * 1024 * 1024);
    expect(config.DEDUPE_WINDOW_SECONDS).toBe(7 * 24 * 3600);
    expect(config.QUEUE_PREFIX).toBe('{switchboard}');
    expect(config.isQueuePrefixDefault).toBe(true);
    expect(loadConfig({ QUEUE_PREFIX: '{acme}' })).toMatchObject({ QUEUE_PREFIX: '{acme}', isQueuePrefixDefault: false });
  });

  it('lists every problem at once', () => {
    let caught: unknown;
    try {
      loadConfig({ SERVICE_ROLE: 'boss', PORT: 'eighty', WORKER_QUEUES: 'default,nope', LOG_LEVEL: 'loud' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const problems = (caught as ConfigError).problems.join('\n');
    expect(problems).toMatch(/SERVICE_ROLE/);
    expect(problems).toMatch(/PORT/);
    expect(problems).toMatch(/LOG_LEVEL/);
  });

  it('rejects unknown queues and bad per-queue concurrency', () => {
    expect(() => loadConfig({ WORKER_QUEUES: 'default,nope' })).toThrow(/unknown queue\(s\) nope/);
    expect(() => loadConfig({ WORKER_CONCURRENCY: 'default=4,bogus=2' })).toThrow(/unknown queue "bogus"/);
    expect(() => loadConfig({ WORKER_CONCURRENCY: 'four' })).toThrow(/WORKER_CONCURRENCY/);
  });

  it('reads per-queue concurrency with a fallback', () => {
    const config = loadConfig({ WORKER_CONCURRENCY: '2,default=16,receipts=4' });
    expect(config.WORKER_CONCURRENCY).toMatchObject({ default: 16, receipts: 4, high: 2 });
  });

  it('requires a hash-tagged queue prefix (Redis Cluster keeps a queue in one slot)', () => {
    expect(() => loadConfig({ QUEUE_PREFIX: 'switchboard' })).toThrow(/QUEUE_PREFIX/);
  });

  it('reads TRUST_PROXY as off, every hop, a hop count or a list of proxies, and rejects anything else', () => {
    expect(loadConfig({}).TRUST_PROXY).toBe(false);
    expect(loadConfig({ TRUST_PROXY: 'false' }).TRUST_PROXY).toBe(false);
    expect(loadConfig({ TRUST_PROXY: 'true' }).TRUST_PROXY).toBe(true);
    expect(loadConfig({ TRUST_PROXY: '2' }).TRUST_PROXY).toBe(2);
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8, loopback,2001:db8::1' }).TRUST_PROXY).toEqual(['10.0.0.0/8', 'loopback', '2001:db8::1']);
    expect(() => loadConfig({ TRUST_PROXY: 'nginx' })).toThrow(/TRUST_PROXY: "nginx" is not true, false, a hop count/);
    expect(() => loadConfig({ TRUST_PROXY: '10.0.0.0/33' })).toThrow(/TRUST_PROXY: .*10\.0\.0\.0\/33/);
  });

  it('GATEWAY_SECRET defaults to INTERNAL_SECRET', () => {
    expect(loadConfig({ INTERNAL_SECRET: 's3cret' }).GATEWAY_SECRET).toBe('s3cret');
    expect(loadConfig({ INTERNAL_SECRET: 's3cret', GATEWAY_SECRET: 'other' }).GATEWAY_SECRET).toBe('other');
  });
});

describe('requireDeployedSettings', () => {
  it('roles other than "all" must be given their database, Redis and secrets', () => {
    expect(() => requireDeployedSettings(loadConfig({ SERVICE_ROLE: 'worker' }))).toThrow(
      /DATABASE_URL.*\n.*REDIS_URL.*\n.*INTERNAL_SECRET.*\n.*ADMIN_TOKEN/,
    );
    expect(() => requireDeployedSettings(loadConfig({}))).not.toThrow();
    expect(() =>
      requireDeployedSettings(
        loadConfig({ SERVICE_ROLE: 'api', DATABASE_URL: 'postgres://x/y', REDIS_URL: 'redis://r', INTERNAL_SECRET: 'a', ADMIN_TOKEN: 'b' }),
      ),
    ).not.toThrow();
  });
});
