import { describe, it, expect } from 'vitest';
import { REJECT_REASONS, countReject, totalRejects, type RejectCounts } from '../../../shared/wire/reject-reason.js';

describe('REJECT_REASONS', () => {
  it('lists each reason once, including every decoder reason', () => {
    expect(new Set(REJECT_REASONS).size).toBe(REJECT_REASONS.length);
    for (const reason of ['short', 'bad-magic', 'bad-version', 'bad-type', 'bad-flags', 'bad-length', 'bad-reserved',
      'unknown-session', 'wrong-source', 'unknown-seq', 'expired']) {
      expect(REJECT_REASONS).toContain(reason);
    }
  });
});

describe('countReject / totalRejects', () => {
  it('an empty count has no keys and totals 0', () => {
    const counts: RejectCounts = {};
    expect(Object.keys(counts)).toEqual([]);
    expect(totalRejects(counts)).toBe(0);
  });

  it('counts per reason; only reasons that occurred appear', () => {
    const counts: RejectCounts = {};
    countReject(counts, 'bad-magic');
    countReject(counts, 'bad-magic');
    countReject(counts, 'short');
    countReject(counts, 'expired');
    countReject(counts, 'bad-magic');
    expect(counts).toEqual({ 'bad-magic': 3, short: 1, expired: 1 });
    expect(totalRejects(counts)).toBe(5);
  });

  it('counts every reason independently', () => {
    const counts: RejectCounts = {};
    REJECT_REASONS.forEach((reason, i) => { for (let n = 0; n <= i; n++) countReject(counts, reason); });
    REJECT_REASONS.forEach((reason, i) => expect(counts[reason]).toBe(i + 1));
    const n = REJECT_REASONS.length;
    expect(totalRejects(counts)).toBe((n * (n + 1)) / 2);
  });

  it('totalRejects ignores reasons present with undefined', () => {
    const counts: RejectCounts = { short: 2, 'bad-type': undefined };
    expect(totalRejects(counts)).toBe(2);
  });
});
