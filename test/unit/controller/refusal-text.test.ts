import { describe, expect, it } from 'vitest';
import { describeRefusal, formatRefusedCounts, refusalHint, refusedOnlyMessage } from '../../../controller/report/refusal-text.js';
import { formatTargetReport } from '../../../controller/report/format-report.js';
import { buildTargetReport } from '../../../controller/report/run-report.js';
import { RunState } from '../../../controller/matching/run-state.js';
import { encodeProbe, encodeRefusal } from '../../../shared/wire/probe-codec.js';
import { REFUSAL_REASONS } from '../../../shared/wire/probe-layout.js';
import { makeStats, rx, sent, tx } from './run-fixture.js';

describe('refusal text', () => {
  it('names the detail the agent sent', () => {
    expect(describeRefusal({ reason: 'session-limit', detail: 16, scope: 'agent' })).toBe('session-limit (16 sessions busy)');
    expect(describeRefusal({ reason: 'session-limit', detail: 1, scope: 'agent' })).toBe('session-limit (1 session busy)');
    expect(describeRefusal({ reason: 'session-limit', detail: 4, scope: 'source-address' }))
      .toBe('session-limit (4 sessions busy from this address, its share of the agent\'s places)');
    expect(describeRefusal({ reason: 'rate-limited', detail: 200, scope: 'agent' })).toBe('rate-limited (--max-rate 200/s per source address)');
    expect(describeRefusal({ reason: 'replay', detail: 0, scope: 'agent' })).toBe('replay');
  });

  it('has a hint for every reason', () => {
    for (const reason of REFUSAL_REASONS) expect(refusalHint(reason).length).toBeGreaterThan(10);
    expect(refusalHint('session-limit')).toMatch(/raise --max-sessions on the agent/);
    expect(formatRefusedCounts({})).toBeNull();
    expect(formatRefusedCounts({ 'session-limit': 3, replay: 1 })).toBe('session-limit 3, replay 1');
  });

  it('a target with only refusals says "agent refused: …" in its report and its exit message; one with replies does not', () => {
    const state = new RunState(makeStats());
    for (let seq = 0n; seq < 3n; seq++) {
      state.apply([sent(0, seq), tx(0, seq)]);
      state.apply([rx(encodeRefusal(encodeProbe(0x11111111, seq, 1n, 64), 'session-limit', 16), seq, 50_000n)]);
    }
    const stats = state.targets[0];
    if (!stats) throw new Error('no target');
    const report = buildTargetReport(stats, 'kernel');
    expect(report).toMatchObject({ sent: 3, received: 0, lost: 0, refused: { 'session-limit': 3 } });
    expect(refusedOnlyMessage(report)).toBe('agent refused: session-limit (16 sessions busy); raise --max-sessions on the agent, ' +
      'or end the other controllers probing it');
    const text = formatTargetReport(report);
    expect(text).toMatch(/refused {2}session-limit 3 \(the agent's refusal replies; not counted as lost\)/);
    expect(text).toMatch(/agent said: session-limit \(16 sessions busy\)/);
    expect(refusedOnlyMessage({ ...report, received: 1 })).toBeNull();
    const quiet = state.targets[1];
    if (!quiet) throw new Error('no target');
    expect(formatTargetReport(buildTargetReport(quiet, 'kernel'))).not.toMatch(/refused/);
  });
});
