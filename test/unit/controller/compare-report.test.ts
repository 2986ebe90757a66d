import { describe, expect, it } from 'vitest';
import {
  buildCompareBlock, COMPARE_ROWS, formatCompareText, formatRatio, ratioOf,
} from '../../../controller/report/compare-report.js';
import { buildTargetReport, type RunReport, type TargetReport } from '../../../controller/report/run-report.js';
import { TargetStats } from '../../../controller/recording/target-stats.js';

const START_MS = Date.UTC(2026, 10, 24, 12, 0, 0);

/** A target that answered `rttsNs` (one probe each, 10 ms apart) and lost `lost` more. */
function target(name: string, rttsNs: number[], lost = 0): TargetReport {
  const stats = new TargetStats({ name, address: '127.0.0.1', port: 7707, family: 4, mode: 'udp' }, 1,
    { capacity: 64, timeoutNs: 1e9, lossAfterNs: 10_000_000_000n });
  rttsNs.forEach((rttNs, i) => stats.recordRoundTrip({
    seq: BigInt(i), rttNs, sentWallMs: START_MS + i * 10, late: false, userFallback: false, turnaroundNs: null,
  }));
  const sent = rttsNs.length + lost;
  return { ...buildTargetReport(stats, 'kernel'), sent, received: rttsNs.length, lost, loss_ratio: sent === 0 ? 0 : lost / sent };
}

function report(targets: TargetReport[]): RunReport {
  return {
    version: 1, tool: 'rtprobe', started: new Date(START_MS).toISOString(), duration_s: 1, rate_hz: 100, size_bytes: 64,
    timeout_ns: 1e9, loss_after_ns: 10e9, targets, rejected_unattributed: {}, process: { rss_bytes: 1, cpu_user_s: 0, cpu_system_s: 0 },
  };
}

// Passthrough: 100 µs, one 330 µs worst; emulated: 300 µs, one 100 ms stall, one probe lost.
const PT = [...Array.from({ length: 99 }, () => 100_000), 330_000];
const EMU = [...Array.from({ length: 98 }, () => 300_000), 100_000_000];

describe('buildCompareBlock', () => {
  const block = buildCompareBlock(report([target('passthrough', PT), target('emulated', EMU, 1)]));

  it('names the baseline (first target) and the compared one (second)', () => {
    expect(block.baseline).toBe('passthrough');
    expect(block.compared).toBe('emulated');
    expect(block.ratio_of).toBe('emulated/passthrough');
  });

  it('has every row with both values and ratio = compared / baseline', () => {
    expect(Object.keys(block.rtt)).toEqual(['min', 'p50', 'p90', 'p99', 'p99_9', 'p99_99', 'p99_999', 'max', 'mean']);
    for (const row of Object.values(block.rtt)) {
      expect(row.baseline_ns).not.toBeNull();
      // 6 significant digits
      expect(Math.abs((row.ratio ?? 0) / ((row.compared_ns ?? 0) / (row.baseline_ns ?? 1)) - 1)).toBeLessThan(1e-5);
    }
    expect(block.rtt.max).toEqual({ baseline_ns: 330_000, compared_ns: 100_000_000, ratio: 303.03 });
    expect(block.rtt.min).toEqual({ baseline_ns: 100_000, compared_ns: 300_000, ratio: 3 });
  });

  it('gives loss and worst events of both sides', () => {
    expect(block.loss.baseline).toEqual({ sent: 100, received: 100, lost: 0, late: 0, loss_ratio: 0 });
    expect(block.loss.compared).toEqual({ sent: 100, received: 99, lost: 1, late: 0, loss_ratio: 0.01 });
    expect(block.worst.baseline[0]).toMatchObject({ seq: 99, rtt_ns: 330_000 });
    expect(block.worst.compared[0]).toMatchObject({ seq: 98, rtt_ns: 100_000_000 });
    expect(block.worst.baseline).toHaveLength(10);
  });

  it('says which clock stamped each side and whether they agree', () => {
    expect(block.clocks.baseline).toMatchObject({ tx: 'kernel', rx: 'kernel' });
    expect(block.clocks.same).toBe(true);
    const emu = target('emulated', EMU);
    const mixed = buildCompareBlock(report([target('passthrough', PT),
      { ...emu, timestamps: { ...emu.timestamps, tx: 'user', rx: 'user', rtt_clock: 'user space' } }]));
    expect(mixed.clocks.same).toBe(false);
    expect(mixed.clocks.compared).toEqual({ tx: 'user', rx: 'user', rtt_clock: 'user space' });
  });

  it('has null ratios where the baseline measured nothing, and for a zero baseline', () => {
    const silent = buildCompareBlock(report([target('passthrough', []), target('emulated', EMU)]));
    for (const row of Object.values(silent.rtt)) {
      expect(row.baseline_ns).toBeNull();
      expect(row.ratio).toBeNull();
    }
    expect(ratioOf(0, 5)).toBeNull();
    expect(ratioOf(5, null)).toBeNull();
    expect(ratioOf(3, 1)).toBe(0.333333);
  });

  it('refuses a report without exactly two targets (the command checks first)', () => {
    expect(() => buildCompareBlock(report([target('a', PT)]))).toThrow(/exactly two targets/);
  });
});

describe('formatCompareText', () => {
  const text = formatCompareText(report([target('passthrough', PT), target('emulated', EMU, 1)]));
  const lines = text.split('\n');

  it('heads the table with the target names and ratio', () => {
    expect(text).toMatch(/^ +passthrough +emulated +ratio$/m);
    expect(text).toContain('ratio = emulated/passthrough');
  });

  it('has every row in order, with values of both and the ratio', () => {
    const labels = lines.map((line) => /^ {2}(\S+) /.exec(line)?.[1]).filter((l) => COMPARE_ROWS.some(([, label]) => label === l));
    expect(labels).toEqual(COMPARE_ROWS.map(([, label]) => label));
    expect(text).toMatch(/^ {2}min +100\.0 µs +300\.0 µs +3\.00x$/m);
    expect(text).toMatch(/^ {2}max +330\.0 µs +100\.000 ms +303x$/m);
  });

  it('shows loss and worst events side by side, and the clock line', () => {
    expect(text).toMatch(/^ {2}lost +0 +1$/m);
    expect(text).toMatch(/^ {2}loss ratio +0\.000% +1\.000%$/m);
    expect(text).toMatch(/^ +1\. +seq 99 +330\.0 µs +12:00:00\.990 +seq 98 +100\.000 ms +12:00:00\.980$/m);
    expect(text).toMatch(/clocks +both: RTT from kernel TX\/kernel RX stamps/);
  });
});

describe('formatRatio', () => {
  it('keeps fewer decimals as the ratio grows', () => {
    expect([formatRatio(3.0167), formatRatio(12.34), formatRatio(303.03), formatRatio(null)]).toEqual(['3.02x', '12.3x', '303x', '-']);
  });
});

describe('compare shows everything run shows (issue 16)', () => {
  /** A side whose sender missed slots and sent late, with an agent breakdown and refusals. */
  function starved(): TargetReport {
    const t = target('emulated', EMU, 1);
    const sendError = { count: 99, min: 2_000, p50: 40_000, p90: 3_000_000, p99: 8_700_000, p99_9: 9_000_000, p99_99: 9_000_000, p99_999: 9_000_000, max: 9_100_000, mean: 500_000 };
    const summary = (p50: number, p99: number, max: number): TargetReport['rtt_ns'] => ({ count: 99, min: p50, p50, p90: p50, p99, p99_9: max, p99_99: max, p99_999: max, max, mean: p50 });
    return {
      ...t, missed_send_slots: 104, send_error_ns: sendError,
      agent: {
        url: 'ws://127.0.0.1:7708/v1/stream', complete: true, intervals: 2, bad_histograms: 0, dropped_by_agent: 0, reconnects: 0, restarts: 0,
        clocks: null, clock_sync: null, received: 99, gaps: 0, reordered: 0, duplicates: 0,
        ipdv_ns: summary(5_000, 60_000, 70_000), turnaround_ns: summary(20_000, 250_000, 300_000), owd_ns: null, rejected: {}, receive_buffer_drops: 0, backlog_paused_ms: 0,
      },
      loss_forward: 0, loss_return: 1,
      ...{ refused: { 'session-limit': 3 } },
    };
  }
  const baseline = { ...target('passthrough', PT), agent: null, agent_unknown: { url: 'ws://127.0.0.1:1/v1/stream', reason: 'the agent stream never connected: connect ECONNREFUSED 127.0.0.1:1' } };
  const run = report([baseline, starved()]);
  const block = buildCompareBlock(run);

  it('the JSON block has the sender, the agent breakdown (or why unknown) and refusals of both sides', () => {
    expect(block.sender.missed_send_slots).toEqual({ baseline: 0, compared: 104 });
    expect(block.sender.send_error.p99).toMatchObject({ compared_ns: 8_700_000 });
    expect(block.agent.baseline).toEqual({ unknown: 'the agent stream never connected: connect ECONNREFUSED 127.0.0.1:1' });
    expect(block.agent.compared).toMatchObject({ complete: true, turnaround_ns: { p50: 20_000, p99: 250_000, max: 300_000 }, loss_return: 1 });
    expect(block.refused).toEqual({ baseline: null, compared: { 'session-limit': 3 } });
  });

  it('a starved sender gets one warning line naming its missed slots and send error; a punctual one none', () => {
    expect(block.sender.warnings).toEqual([
      'WARNING: emulated: the sender was starved: 104 of 204 send slots missed (50.980%), send error p99 8700.0 µs (limit 1000.0 µs): '
        + 'the controller host was too busy to keep the schedule; its delays are in these figures, not only the path\'s',
    ]);
    expect(buildCompareBlock(report([target('a', PT), target('b', PT)])).sender.warnings).toEqual([]);
  });

  it('the text shows them beside the ratio rows, the warning under the title', () => {
    const text = formatCompareText(run);
    const lines = text.split('\n');
    expect(lines[1]).toMatch(/^WARNING: emulated: the sender was starved: 104 of 204 send slots missed/);
    expect(text).toMatch(/^ {2}missed slots +0 +104$/m);
    expect(text).toMatch(/^ {2}send err p99 +- +8700\.0 µs +-$/m);
    expect(text).toMatch(/^ {2}stream +UNKNOWN +complete$/m);
    expect(text).toMatch(/^ {2}guest turn p99 +- +250\.0 µs +-$/m);
    expect(text).toMatch(/^ {2}lost return +- +1$/m);
    expect(text).toMatch(/^ {2}refused +none +session-limit 3$/m);
    expect(text).toContain('  passthrough: agent breakdown unknown: the agent stream never connected: connect ECONNREFUSED 127.0.0.1:1');
    // the RTT ratio rows are still first
    expect(text.indexOf('  p99 ')).toBeLessThan(text.indexOf('missed slots'));
  });
});
