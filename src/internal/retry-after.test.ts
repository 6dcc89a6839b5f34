import { describe, expect, it } from 'vitest';
import { parseRetryAfter } from './retry-after.js';

const NOW = Date.parse('2026-01-01T00:00:00Z');

describe('parseRetryAfter', () => {
  it('reads delta-seconds as milliseconds', () => {
    expect(parseRetryAfter('0', NOW)).toBe(0);
    expect(parseRetryAfter('3', NOW)).toBe(3_000);
    expect(parseRetryAfter(' 120 ', NOW)).toBe(120_000);
  });

  it('reads every HTTP-date form as the time until that date', () => {
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', NOW)).toBe(5_000);
    expect(parseRetryAfter('Thursday, 01-Jan-26 00:00:05 GMT', NOW)).toBe(5_000);
    expect(parseRetryAfter('Thu Jan  1 00:00:05 2026', NOW)).toBe(5_000);
  });

  it('reads a date in the past as "now"', () => {
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', NOW)).toBe(0);
  });

  it('gives no hint for a missing or malformed value', () => {
    for (const value of [null, '', 'soon', '-5', '1.5', 'Monday', 'Thu, 99 Jan 2026 00:00:05 GMT', '5 seconds']) {
      expect(parseRetryAfter(value, NOW)).toBeUndefined();
    }
  });
});
