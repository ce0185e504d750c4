import { defineConfig } from 'vitest/config';

// Test files run in parallel forks; each file gets its own database (cloned from a migrated template
// built once in globalSetup) and its own BullMQ prefix, so files never see each other's data.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
    reporters: ['default'],
  },
});
