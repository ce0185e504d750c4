import { describe, expect, it } from 'vitest';
import { SignInThrottle } from './sign-in-throttle.js';

function throttleAt(clock: { now: number }) {
  return new SignInThrottle({ maxFailures: 3, windowMs: 60_000, maxTracked: 2, now: () => clock.now });
}

describe('SignInThrottle', () => {
  it('refuses an address after maxFailures within the window, until the window ends', () => {
    const clock = { now: 1_000_000 };
    const throttle = throttleAt(clock);
    for (let i = 0; i < 3; i += 1) {
      expect(throttle.retryAfterMs('10.0.0.1')).toBe(0);
      throttle.recordFailure('10.0.0.1');
      clock.now += 1000;
    }
    expect(throttle.retryAfterMs('10.0.0.1')).toBe(57_000);
    // Another address is not affected.
    expect(throttle.retryAfterMs('10.0.0.2')).toBe(0);
    clock.now += 57_000;
    expect(throttle.retryAfterMs('10.0.0.1')).toBe(0);
  });

  it('forgets the failures of an address that signs in', () => {
    const clock = { now: 0 };
    const throttle = throttleAt(clock);
    throttle.recordFailure('a');
    throttle.recordFailure('a');
    throttle.recordSuccess('a');
    throttle.recordFailure('a');
    throttle.recordFailure('a');
    expect(throttle.retryAfterMs('a')).toBe(0);
  });

  it('tracks at most maxTracked addresses, dropping the oldest window', () => {
    const clock = { now: 0 };
    const throttle = throttleAt(clock);
    for (let i = 0; i < 3; i += 1) throttle.recordFailure('first');
    throttle.recordFailure('second');
    throttle.recordFailure('third');
    expect(throttle.retryAfterMs('first')).toBe(0);
  });
});
