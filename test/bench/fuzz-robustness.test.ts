import { describe, expect, it } from 'vitest';
import { emptyTally } from '../fuzz/fuzz-tally.js';
import { renderRobustness, summarizeFuzz } from './fuzz-robustness.js';

describe('summarizeFuzz (the bench robustness line)', () => {
  it('adds up inputs, crashes and hangs, splits known findings off, and reports each reflector\'s bytes out / in', () => {
    const reflect = { ...emptyTally('reflect'), inputs: 1000, bytesIn: 4000, bytesOut: 1000 };
    const live = { ...emptyTally('agent-udp-kernel'), inputs: 200, bytesIn: 1000, bytesOut: 420, acceptedAs: { "refused by the agent's limits": 7, 'refusal replies': 5 } };
    const ws = { ...emptyTally('agent-ws'), inputs: 50, crashes: 1, hangs: 2, violations: { 'agent-messages-valid': 3, 'no-policy-closes': 1 } };
    const empty = { ...emptyTally('agent-udp-user') };
    const known = (target: string, invariant: string) => target === 'agent-ws' && invariant === 'agent-messages-valid';
    const r = summarizeFuzz(9, 1000, [reflect, live, ws, empty], 12, known);
    expect(r).toMatchObject({ inputs: 1250, crashes: 1, hangs: 2, violations: 1, knownViolations: 3 });
    expect(r.amplification).toEqual({ reflect: 0.25, 'agent-udp-kernel': 0.42, 'agent-udp-user': null });
    expect(r.refusedByLimits).toEqual({ 'agent-udp-kernel': 7 });
    expect(r.refusalReplies).toEqual({ 'agent-udp-kernel': 5 });
    const text = renderRobustness(r);
    expect(text).toContain('1250 inputs in 12 s, 1 crashes, 2 hangs, 1 broken invariants (+3 known findings)');
    expect(text).toContain('reflect 0.250, agent-udp-kernel 0.420, agent-udp-user -');
    expect(text).toContain('refusal replies (each to a well-formed probe, never larger than it): agent-udp-kernel 5');
    // with today's list (no known findings) every violation counts
    expect(summarizeFuzz(9, 1000, [ws], 1)).toMatchObject({ violations: 4, knownViolations: 0 });
  });
});
