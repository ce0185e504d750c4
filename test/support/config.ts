import { loadConfig, type Config } from '../../src/config.js';

export const TEST_SECRET = 'test-internal-secret-0123456789';
export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789';

/** A deployed-style config (no embedded defaults) for tests. */
export function testConfig(env: Record<string, string | undefined>): Config {
  return loadConfig({
    SERVICE_ROLE: 'api',
    INTERNAL_SECRET: TEST_SECRET,
    ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    LOG_LEVEL: 'silent',
    JOB_BACKOFF_MS: '50',
    PORT: '0',
    HOST: '127.0.0.1',
    ...env,
  });
}
