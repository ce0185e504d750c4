/**
 * One test file's stack: a fake gateway (and, when asked, a fake OpenAI-compatible server), a fresh
 * PostgreSQL database, a unique Redis prefix and the in-process harness wired to them. `close()`
 * first asserts that the fakes received nothing unexpected, then tears everything down in reverse
 * order whatever the assertion said.
 */
import { createTestDatabase, type TestDatabase } from './database.js';
import { FakeGateway } from './fake-gateway.js';
import { FakeOpenAI } from './fake-openai.js';
import { startHarness, type Harness } from './harness.js';
import { SHARED_REDIS_URL, deletePrefix, uniquePrefix } from './redis.js';

export const TEST_GATEWAY_SECRET = 'test-gateway-secret-0123456789';
export const TEST_OPENAI_API_KEY = 'test-key';

export interface TestStackOptions {
  /** The harness's env, on top of the fakes' addresses (a key given here wins). */
  env?: Record<string, string>;
  /** Also start a FakeOpenAI and hand the harness OPENAI_BASE_URL and OPENAI_API_KEY. */
  withOpenAI?: boolean;
  gatewaySecret?: string;
  /**
   * false: the harness is not told where the fakes are (it only serves the API while worker
   * processes, given the fakes' addresses by the test, do the sending).
   */
  wireHarness?: boolean;
}

/** A teardown step of the test file's own (closing a browser, killing processes), run before the harness closes. */
export type TeardownStep = () => unknown;

export interface TestStack {
  harness: Harness;
  gateway: FakeGateway;
  openai: FakeOpenAI | undefined;
  db: TestDatabase;
  prefix: string;
  /** Throws if the fake gateway (then the fake OpenAI) received an unexpected request. */
  assertNoUnexpected(): void;
  /** assertNoUnexpected(), then teardown(...first) even when it threw. */
  close(...first: TeardownStep[]): Promise<void>;
  /** Runs `first`, then closes the harness and the fakes, deletes the prefix and drops the database. */
  teardown(...first: TeardownStep[]): Promise<void>;
}

export interface TestStackWithOpenAI extends TestStack {
  openai: FakeOpenAI;
}

interface Parts {
  gateway?: FakeGateway;
  openai?: FakeOpenAI;
  db?: TestDatabase;
  prefix?: string;
  harness?: Harness;
}

/** Every step runs even when an earlier one threw; the first error is rethrown at the end. */
async function teardownParts(parts: Parts, first: readonly TeardownStep[]): Promise<void> {
  const { harness, gateway, openai, prefix, db } = parts;
  const steps: TeardownStep[] = [
    ...first,
    () => harness?.close(),
    () => gateway?.close(),
    () => openai?.close(),
    () => (prefix ? deletePrefix(prefix) : undefined),
    () => db?.drop(),
  ];
  let failure: { error: unknown } | undefined;
  for (const step of steps) {
    try {
      await step();
    } catch (error) {
      failure ??= { error };
    }
  }
  if (failure) throw failure.error;
}

export function startTestStack(options: TestStackOptions & { withOpenAI: true }): Promise<TestStackWithOpenAI>;
export function startTestStack(options?: TestStackOptions): Promise<TestStack>;
export async function startTestStack(options: TestStackOptions = {}): Promise<TestStack> {
  const gatewaySecret = options.gatewaySecret ?? TEST_GATEWAY_SECRET;
  const parts: Parts = {};
  try {
    const gateway = (parts.gateway = await FakeGateway.start({ secret: gatewaySecret }));
    const openai = options.withOpenAI ? (parts.openai = await FakeOpenAI.start()) : undefined;
    const db = (parts.db = await createTestDatabase());
    const prefix = (parts.prefix = uniquePrefix());
    const fakesEnv: Record<string, string> =
      options.wireHarness === false
        ? {}
        : {
            GATEWAY_URL: gateway.url,
            GATEWAY_SECRET: gatewaySecret,
            ...(openai ? { OPENAI_BASE_URL: openai.baseURL, OPENAI_API_KEY: TEST_OPENAI_API_KEY } : {}),
          };
    const env = { ...fakesEnv, ...options.env };
    const harness = (parts.harness = await startHarness({
      databaseUrl: db.url,
      redisUrl: SHARED_REDIS_URL,
      prefix,
      ...(Object.keys(env).length > 0 ? { env } : {}),
    }));
    const stack: TestStack = {
      harness,
      gateway,
      openai,
      db,
      prefix,
      assertNoUnexpected() {
        gateway.assertNoUnexpected();
        openai?.assertNoUnexpected();
      },
      async close(...first) {
        try {
          stack.assertNoUnexpected();
        } finally {
          await stack.teardown(...first);
        }
      },
      teardown: (...first) => teardownParts(parts, first),
    };
    return stack;
  } catch (error) {
    // A partial start-up: what did start is stopped, and the start-up's own error is the one reported.
    await teardownParts(parts, []).catch(() => undefined);
    throw error;
  }
}
