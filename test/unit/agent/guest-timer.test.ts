/** The guest timer's pure parts on the agent: its flags, the fold of drains into histograms, the recorder's timer intervals. */
import { describe, expect, it } from 'vitest';
import { parseTimerFlags } from '../../../agent/agent-config.js';
import { AgentRecorder } from '../../../agent/agent-recorder.js';
import { formatTimerSummary } from '../../../agent/guest-timer.js';
import { foldTimerDrain } from '../../../agent/timer-fold.js';
import { decodeHistogram } from '../../../shared/histogram/histogram-transport.js';
import { LatencyHistogram } from '../../../shared/histogram/latency-histogram.js';
import type { IntervalMessage, SessionEndMessage } from '../../../shared/messages/agent-messages.js';
import type { TimerDrain } from '../../../shared/native/timer-latency-addon.js';

/** A drain as the native thread hands it over: (value ns, count) buckets, the exact max and when. */
function drain(buckets: [number, number][], maxNs: number, maxAtMs = 0, overruns = 0): TimerDrain {
  return {
    values: Float64Array.from(buckets.map(([v]) => v)), counts: Float64Array.from(buckets.map(([, n]) => n)),
    count: buckets.reduce((sum, [, n]) => sum + n, 0), maxNs: buckets.length === 0 ? -1 : maxNs, maxAtMs, overruns,
  };
}

describe('parseTimerFlags', () => {
  it('off unless --timer-latency; defaults 1 ms, SCHED_FIFO 95, not pinned', () => {
    expect(parseTimerFlags({})).toBeNull();
    expect(parseTimerFlags({ 'timer-latency': true })).toEqual({ intervalNs: 1_000_000, priority: 95, cpu: null });
    expect(parseTimerFlags({ 'timer-latency': true, 'timer-interval': '250us', 'timer-priority': '80', 'timer-cpu': '1' }))
      .toEqual({ intervalNs: 250_000, priority: 80, cpu: 1 });
  });

  it.each([
    [{ 'timer-interval': '1ms' }, '--timer-interval: only with --timer-latency'],
    [{ 'timer-cpu': '0' }, '--timer-cpu: only with --timer-latency'],
    [{ 'timer-latency': true, 'timer-interval': '10us' }, '--timer-interval: must be 50us..1s'],
    [{ 'timer-latency': true, 'timer-interval': '2s' }, '--timer-interval: must be 50us..1s'],
    [{ 'timer-latency': true, 'timer-interval': 'soon' }, "--timer-interval: 'soon' is not a duration"],
    [{ 'timer-latency': true, 'timer-priority': '0' }, '--timer-priority: 0 is out of range 1..99'],
    [{ 'timer-latency': true, 'timer-priority': '100' }, '--timer-priority: 100 is out of range 1..99'],
    [{ 'timer-latency': true, 'timer-cpu': '-1' }, '--timer-cpu: -1 is out of range 0..4095'],
  ])('%o → %s', (flags, message) => {
    const parsed = parseTimerFlags(flags);
    expect(parsed).toBeInstanceOf(Error);
    expect((parsed as Error).message).toContain(message);
  });
});

describe('foldTimerDrain', () => {
  it('adds a drain to every target: counts per bucket, the exact max, nothing for an empty drain', () => {
    const [a, b] = [new LatencyHistogram(), new LatencyHistogram()];
    expect(foldTimerDrain(drain([], 0), [a, b])).toBe(false);
    expect(foldTimerDrain(drain([[20_000, 900], [1_234_567, 1], [50_000, 99]], 1_234_999), [a, b])).toBe(true);
    for (const h of [a, b]) {
      const s = h.summary();
      expect(s.count).toBe(1000);
      expect(s.max).toBe(1_234_999);
      // within the HDR histogram's bucket at that value (1 µs floor today)
      expect(Math.abs((s.p50 ?? 0) - 20_000)).toBeLessThanOrEqual(1_000);
      expect(Math.abs((s.p99 ?? 0) - 50_000)).toBeLessThanOrEqual(1_000);
    }
    foldTimerDrain(drain([[30_000, 10]], 30_000), [a]);
    expect(a.count).toBe(1010);
    expect(b.count).toBe(1000);
    expect(a.maxNs).toBe(1_234_999);
    // a bucket's middle above the exact max counts at the max: the max stays exact
    const c = new LatencyHistogram();
    foldTimerDrain(drain([[10_000, 5], [70_040, 3]], 70_001), [c]);
    expect(c.summary()).toMatchObject({ count: 8, max: 70_001, min: 10_000 });
  });
});

describe('AgentRecorder with a guest timer', () => {
  function setUp() {
    const drains: TimerDrain[] = [];
    const published: (IntervalMessage | SessionEndMessage)[] = [];
    const r = new AgentRecorder({
      intervalMs: 1000, recordOwd: false, maxSessions: 8, idleMs: 60_000, publish: (m) => published.push(m),
      timer: { drain: () => drains.shift() ?? drain([], 0) },
    });
    const probe = (session: number, nowMs: number) =>
      r.probe({ session, seq: BigInt(nowMs), peer: '127.0.0.1:1', t1Ns: 0n, t2Ns: 1n, nowMs });
    const intervals = () => published.filter((m): m is IntervalMessage => m.type === 'interval');
    return { r, drains, probe, intervals };
  }

  it('every open interval of every session gets the timer samples drained while it was open, with its max and when', () => {
    const { r, drains, probe, intervals } = setUp();
    probe(1, 10_100);
    probe(2, 10_200);
    drains.push(drain([[40_000, 500]], 41_000, 10_500));
    r.tick(10_500);
    drains.push(drain([[40_000, 499], [900_000, 1]], 901_000, 10_950, 2));
    r.tick(11_001);
    const closed = intervals();
    expect(closed.map((m) => [m.session, m.start_ms, m.end_ms])).toEqual([[1, 10_000, 11_000], [2, 10_000, 11_000]]);
    for (const m of closed) {
      const timer = m.histograms.timer;
      expect(timer).toMatchObject({ count: 1000, max_ns: 901_000, max_at_ms: 10_950 });
      const decoded = decodeHistogram(timer?.encoded ?? '');
      expect(decoded.ok && decoded.histogram.totalCount).toBe(1000);
    }
    // the next interval starts empty; the agent-wide total keeps everything
    drains.push(drain([[30_000, 10]], 30_000, 11_100));
    r.flush(1, 11_200);
    expect(intervals().at(-1)?.histograms.timer).toMatchObject({ count: 10, max_ns: 30_000, max_at_ms: 11_100 });
    expect(r.timerTotal.count).toBe(1010);
    expect(r.timerMaxAtMs).toBe(10_950);
    expect(r.timerOverruns).toBe(2);
  });

  it('without a timer no interval carries the tag', () => {
    const published: IntervalMessage[] = [];
    const r = new AgentRecorder({ intervalMs: 1000, recordOwd: false, maxSessions: 8, idleMs: 60_000,
      publish: (m) => { if (m.type === 'interval') published.push(m); } });
    r.probe({ session: 1, seq: 1n, peer: 'p', t1Ns: 0n, t2Ns: 1n, nowMs: 10_100 });
    r.tick(11_001);
    expect(published[0]?.histograms.timer).toBeUndefined();
  });
});

describe('formatTimerSummary', () => {
  it('names the policy, CPU and clock; says so when nothing was recorded', () => {
    const h = new LatencyHistogram();
    expect(formatTimerSummary({ running: true, interval_ns: 1e6, priority: null, cpu: null }, h.summary(), 0, 0))
      .toBe('timer: every 1000.0 µs, SCHED_OTHER: no wake-up recorded');
    h.record(50_000);
    expect(formatTimerSummary({ running: true, interval_ns: 1e6, priority: 95, cpu: 1 }, h.summary(), Date.UTC(2026, 0, 1), 3))
      .toBe('timer: 1 wake-ups every 1000.0 µs, SCHED_FIFO 95 on CPU 1 (CLOCK_MONOTONIC): p50 50.0 µs, p99 50.0 µs, p99.9 50.0 µs, ' +
        'max 50.0 µs at 2026-01-01T00:00:00.000Z, 3 overruns');
  });
});
