import { describe, it, expect } from 'vitest';
import { buildRunReport, buildTargetReport, type RunFacts } from '../../../controller/report/run-report.js';
import { CLOCK_OF_SOURCE } from '../../../shared/report/clock-names.js';
import { finishedRun, makeStats } from './run-fixture.js';
import { buildAllTargets } from '../../../controller/report/all-targets.js';
import { formatAllTargets } from '../../../controller/report/format-report.js';

// The JSON report as issue 2, section 6 lists it.
const ISSUE_TOP_KEYS = ['version', 'started', 'duration_s', 'rate_hz', 'targets'];
const ISSUE_TARGET_KEYS = [
  'name', 'address', 'mode', 'sent', 'received', 'lost', 'late', 'duplicates', 'reordered',
  'missed_send_slots', 'timestamps', 'rtt_ns', 'turnaround_ns', 'send_error_ns', 'worst', 'rejected',
];
const SUMMARY_KEYS = ['count', 'min', 'p50', 'p90', 'p99', 'p99_9', 'p99_99', 'p99_999', 'max', 'mean'];
const WORST_KEYS = ['seq', 'rtt_ns', 'at'];
const STAMP_SOURCES = ['user', 'kernel', 'hardware'];
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

const FACTS: RunFacts = {
  startedMs: Date.UTC(2026, 10, 24, 12, 0, 0, 250), durationS: 0.21, rateHz: 100, sizeBytes: 64,
  timeoutNs: 1e9, lossAfterNs: 10e9, stampSource: 'user', strayRejects: {},
  process: { rss_bytes: 50_000_000, cpu_user_s: 0.25, cpu_system_s: 0.05 },
};

function report() {
  const state = finishedRun();
  return buildRunReport(state.targets, { ...FACTS, strayRejects: state.strayRejects });
}

const sorted = (keys: string[]) => [...keys].sort();

describe('buildRunReport: the JSON shape of issue 2 §6', () => {
  it('has every top-level field', () => {
    const r = report();
    expect(Object.keys(r)).toEqual(expect.arrayContaining(ISSUE_TOP_KEYS));
    expect(r.version).toBe(1);
    expect(r.started).toBe('2026-11-24T12:00:00.250Z');
    expect(r.started).toMatch(ISO);
    expect(r).toMatchObject({ duration_s: 0.21, rate_hz: 100, size_bytes: 64, timeout_ns: 1e9, loss_after_ns: 10e9 });
    expect(r.targets).toHaveLength(2);
  });

  it('every target has every field, and the timestamps name their sources', () => {
    for (const t of report().targets) {
      expect(Object.keys(t)).toEqual(expect.arrayContaining(ISSUE_TARGET_KEYS));
      expect(t.mode).toBe('udp');
      expect(Object.keys(t.timestamps)).toEqual(expect.arrayContaining(['tx', 'rx']));
      expect(STAMP_SOURCES).toContain(t.timestamps.tx);
      expect(STAMP_SOURCES).toContain(t.timestamps.rx);
    }
  });

  it('rtt_ns, turnaround_ns and send_error_ns have exactly the summary keys', () => {
    for (const t of report().targets) {
      for (const summary of [t.rtt_ns, t.turnaround_ns, t.send_error_ns]) {
        expect(sorted(Object.keys(summary))).toEqual(sorted(SUMMARY_KEYS));
      }
    }
  });

  it('worst entries have exactly seq, rtt_ns, at (ISO time), largest first', () => {
    const [a] = report().targets;
    if (!a) throw new Error('no target');
    expect(a.worst).toHaveLength(10);
    for (const w of a.worst) {
      expect(sorted(Object.keys(w))).toEqual(sorted(WORST_KEYS));
      expect(w.at).toMatch(ISO);
      expect(typeof w.seq).toBe('number');
    }
    expect(a.worst.map((w) => w.seq)).toEqual([7, 11, 20, 19, 18, 17, 16, 15, 14, 13]);
    expect(a.worst[0]?.rtt_ns).toBe(1_200_000_000);
    const rtts = a.worst.map((w) => w.rtt_ns);
    expect(rtts).toEqual([...rtts].sort((x, y) => y - x));
  });

  it('carries the counts of the run, the rejects per reason and the unattributed ones', () => {
    const r = report();
    const [a, b] = r.targets;
    expect(a).toMatchObject({
      name: 'guest-a', address: '127.0.0.1', port: 7707, sent: 21, received: 20, lost: 1, late: 1,
      duplicates: 1, reordered: 1, missed_send_slots: 1, rejected: { 'wrong-source': 1 },
    });
    expect(a?.loss_ratio).toBeCloseTo(1 / 21, 12);
    expect(a?.rtt_ns).toMatchObject({ count: 20, max: 1_200_000_000 });
    expect(a?.turnaround_ns).toMatchObject({ count: 20, min: 25_000, max: 25_000 });
    expect(a?.send_error_ns).toMatchObject({ count: 21, min: 2_000, max: 2_000 });
    expect(b).toMatchObject({ name: 'guest-b', address: '::1', port: 9000, sent: 21, received: 0, lost: 21, loss_ratio: 1 });
    expect(b?.rtt_ns).toMatchObject({ count: 0, min: null, p50: null, max: null, mean: null });
    expect(b?.worst).toEqual([]);
    expect(r.rejected_unattributed).toEqual({ 'bad-magic': 1 });
  });

  it('timestamps: transport source, its clock, and the agent stamp sources', () => {
    const state = finishedRun();
    const [statsA, statsB] = state.targets;
    if (!statsA || !statsB) throw new Error('no targets');
    expect(buildTargetReport(statsA, 'kernel').timestamps).toEqual({
      tx: 'kernel', rx: 'kernel', rtt_clock: CLOCK_OF_SOURCE.kernel, send_error: 'user',
      agent_t2: 'kernel', agent_t3: 'kernel', user_fallback_rtts: 0,
    });
    expect(buildTargetReport(statsB, 'user').timestamps).toMatchObject({ agent_t2: 'none', agent_t3: 'none' });
  });

  it('is plain JSON: serialises without BigInt errors and parses back equal', () => {
    const r = report();
    const text = JSON.stringify(r);
    expect(JSON.parse(text)).toEqual(r);
  });

  it('copies the reject counts instead of sharing them with the live run', () => {
    const state = finishedRun();
    const r = buildRunReport(state.targets, { ...FACTS, strayRejects: state.strayRejects });
    state.strayRejects.short = 5;
    const a = state.targets[0];
    if (a) a.rejects['bad-type'] = 1;
    expect(r.rejected_unattributed).toEqual({ 'bad-magic': 1 });
    expect(r.targets[0]?.rejected).toEqual({ 'wrong-source': 1 });
  });
});

describe('all_targets: the run over all its targets\' probes', () => {
  it('sums the counts of every target, and merges their RTT and send error histograms', () => {
    const r = report();
    const all = r.all_targets;
    expect(all).toBeDefined();
    if (!all) return;
    const sum = (f: (t: (typeof r.targets)[number]) => number): number => r.targets.reduce((x, t) => x + f(t), 0);
    expect(all).toMatchObject({ targets: 2, sent: sum((t) => t.sent), received: sum((t) => t.received), lost: sum((t) => t.lost),
      late: sum((t) => t.late), missed_send_slots: sum((t) => t.missed_send_slots) });
    expect(all.loss_ratio).toBeCloseTo(all.lost / all.sent, 12);
    expect(all.missed_slot_ratio).toBeCloseTo(all.missed_send_slots / (all.sent + all.missed_send_slots), 12);
    // B never answered: the RTTs over all probes are A's; the send errors are both targets'
    const [a, b] = r.targets;
    expect(all.rtt_ns).toEqual(a?.rtt_ns);
    expect(all.send_error_ns.count).toBe((a?.send_error_ns.count ?? 0) + (b?.send_error_ns.count ?? 0));
    expect(all.worst_rtt_target).toBe('guest-a');
    expect(all.timestamps).toEqual({ rtt_clock: CLOCK_OF_SOURCE.user, send_error: 'user' });
  });

  it('a target whose tail is the worst is named; the p99 over all probes sits where the whole sample puts it', () => {
    const [quiet, noisy] = makeStats();
    if (!quiet || !noisy) throw new Error('fixture');
    // 990 probes sent 20 µs late, 10 sent 500 µs late: 1 % of all, 10 % of the noisy target's
    for (let i = 0; i < 900; i++) quiet.sendError.record(20_000);
    for (let i = 0; i < 90; i++) noisy.sendError.record(20_000);
    for (let i = 0; i < 10; i++) noisy.sendError.record(500_000);
    quiet.rtt.record(30_000);
    noisy.rtt.record(40_000);
    const all = buildAllTargets([quiet, noisy].map((t) => buildTargetReport(t, 'kernel')), [quiet, noisy], 'kernel');
    expect(all.worst_send_error_p99_target).toBe('guest-b');
    expect(all.worst_rtt_target).toBe('guest-b');
    expect(noisy.sendError.summary().p99).toBe(500_000);
    // the 990th of 1000 values is still 20 µs: 1 % is not above the 99th percentile
    expect(Math.abs((all.send_error_ns.p99 ?? 0) - 20_000)).toBeLessThan(20);
    expect(all.send_error_ns.max).toBe(500_000);
    expect(all.timestamps.rtt_clock).toBe(CLOCK_OF_SOURCE.kernel);
    const text = formatAllTargets(all);
    expect(text).toContain('all 2 targets: sent 0, lost 0 (0.000%), missed send slots 0 (0.000%)');
    expect(text).toMatch(/RTT over all probes: p50 30\.0 µs, .* max 40\.0 µs \(guest-b\) \[kernel SO_TIMESTAMPING/);
    expect(text).toMatch(/send error over all probes: p50 20\.0 µs, p99 20\.0 µs, .* max 500\.0 µs \(largest p99: guest-b\) \[user space, CLOCK_MONOTONIC\]/);
  });

  it('not there with one target (its own figures are all), and says none before any probe', () => {
    const state = finishedRun();
    const one = buildRunReport(state.targets.slice(0, 1), { ...FACTS, strayRejects: state.strayRejects });
    expect(one.all_targets).toBeUndefined();
    const none = makeStats();
    const empty = buildAllTargets(none.map((t) => buildTargetReport(t, 'user')), none, 'user');
    expect(empty).toMatchObject({ sent: 0, loss_ratio: 0, missed_slot_ratio: 0, worst_rtt_target: null, worst_send_error_p99_target: null });
    expect(formatAllTargets(empty)).toContain('RTT over all probes: none');
  });
});
