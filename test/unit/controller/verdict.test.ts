import { describe, expect, it } from 'vitest';
import { evaluateVerdict, formatVerdictLine, NO_VERDICT } from '../../../controller/report/verdict.js';
import type { TargetReport } from '../../../controller/report/run-report.js';

function target(name: string, maxNs: number | null, p99Ns: number | null, lossRatio: number): TargetReport {
  return { name, rtt_ns: { max: maxNs, p99: p99Ns }, loss_ratio: lossRatio } as TargetReport;
}

describe('verdict', () => {
  it('no limit, no verdict', () => {
    expect(evaluateVerdict([target('a', 1, 1, 0)], NO_VERDICT)).toBeNull();
  });

  it('PASS when every target is within every limit; the line shows each figure and limit', () => {
    const verdict = evaluateVerdict([target('a', 400_000, 100_000, 0)], { maxRttNs: 500_000, maxP99Ns: 200_000, maxLossRatio: 0.001 });
    expect(verdict?.result).toBe('pass');
    expect(verdict?.checks.map((c) => [c.limit, c.pass])).toEqual([['max-rtt', true], ['max-p99', true], ['max-loss', true]]);
    expect(formatVerdictLine(verdict!)).toBe(
      'verdict: PASS: a max RTT 400.0 µs <= limit 500.0 µs; a p99 RTT 100.0 µs <= limit 200.0 µs; a loss 0.000% <= limit 0.100%');
  });

  it('FAIL when one target breaks one limit; failures come first; a limit equal to the figure passes', () => {
    const verdict = evaluateVerdict([target('pt', 500_000, 1, 0), target('emu', 2_000_000, 1, 0.002)],
      { maxRttNs: 500_000, maxP99Ns: null, maxLossRatio: 0.001 });
    expect(verdict?.result).toBe('fail');
    expect(verdict?.limits).toEqual({ max_rtt_ns: 500_000, max_p99_ns: null, max_loss_ratio: 0.001 });
    expect(formatVerdictLine(verdict!)).toMatch(/^verdict: FAIL: emu max RTT 2000\.0 µs > limit 500\.0 µs; emu loss 0\.200% > limit 0\.100%; pt max RTT/);
  });

  it('a target without any RTT fails a latency limit', () => {
    const verdict = evaluateVerdict([target('gone', null, null, 1)], { maxRttNs: 1e6, maxP99Ns: null, maxLossRatio: null });
    expect(verdict).toMatchObject({ result: 'fail', checks: [{ target: 'gone', value: null, pass: false }] });
    expect(formatVerdictLine(verdict!)).toBe('verdict: FAIL: gone max RTT none measured vs limit 1000.0 µs');
  });
});
