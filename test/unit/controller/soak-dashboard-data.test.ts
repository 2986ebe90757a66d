import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from '../../../shared/histogram/latency-histogram.js';
import { IntervalEnvelope } from '../../../controller/soak/interval-envelope.js';
import { RECENT_ALERTS, SoakTimeline } from '../../../controller/soak/soak-timeline.js';
import { buildLiveSnapshot } from '../../../controller/soak/live-snapshot.js';
import { buildTargetDetail } from '../../../controller/soak/live-target-detail.js';
import { evaluateAlerts, type AlertThresholds } from '../../../controller/soak/alerts.js';
import { TargetStats } from '../../../controller/recording/target-stats.js';
import type { ClosedInterval } from '../../../controller/recording/interval-stats.js';
import { clockAxis } from '../../../controller/report/svg-plots.js';

const START_MS = Date.UTC(2026, 11, 4, 0, 0, 0);
const THRESHOLDS: AlertThresholds = { maxRttNs: 500_000, lossRatio: 0.01 };

// Reused and reset for each interval, as IntervalStats does (a histogram is large to allocate).
const HISTOGRAMS = { rtt: new LatencyHistogram(), turnaround: new LatencyHistogram(), send_error: new LatencyHistogram() };

function interval(i: number, lengthMs: number, maxNs: number | null, sent = 100, lost = 0): ClosedInterval {
  const rtt = HISTOGRAMS.rtt;
  rtt.reset();
  if (maxNs !== null) { rtt.record(Math.min(50_000, maxNs)); rtt.record(maxNs); }
  return { startMs: START_MS + i * lengthMs, endMs: START_MS + (i + 1) * lengthMs, sent, received: sent - lost, lost, late: 0, histograms: HISTOGRAMS };
}

function stats(name: string, rttsNs: number[]): TargetStats {
  const s = new TargetStats({ name, address: '127.0.0.1', port: 7707, family: 4, mode: 'udp' }, 1,
    { capacity: 64, timeoutNs: 1e9, lossAfterNs: 10_000_000_000n });
  rttsNs.forEach((rttNs, i) => {
    s.recordRoundTrip({ seq: BigInt(i), rttNs, sentWallMs: START_MS + i * 10, late: false, userFallback: false, turnaroundNs: rttNs / 2 });
    s.turnaround.record(rttNs / 2); // as the run loop does (run-state)
  });
  return s;
}

/** A soak of `count` 1 s intervals of one target: a 2 ms spike every 100th (the 1000th 3 ms), 5 lost of 100 every 500th. */
function soak(count: number, target = 'guest'): SoakTimeline {
  const timeline = new SoakTimeline();
  for (let i = 0; i < count; i++) {
    const spike = i % 1000 === 999 ? 3_000_000 : 2_000_000;
    const closed = interval(i, 1000, i % 100 === 99 ? spike : 100_000 + (i % 7) * 10_000, 100, i % 500 === 0 ? 5 : 0);
    timeline.add(target, closed, evaluateAlerts(target, closed, THRESHOLDS));
  }
  return timeline;
}

describe('IntervalEnvelope', () => {
  it('keeps one bucket per interval until full, then merges neighbours: bounded, the true max and the envelope kept', () => {
    const envelope = new IntervalEnvelope(8);
    const maxima = [5, 9, 3, 7, 1, 8, 2, 6, 4, 10];
    maxima.forEach((m, i) => envelope.add({ startMs: i * 10, endMs: (i + 1) * 10, maxNs: m, sent: 10, lost: i === 4 ? 1 : 0, alerts: m > 8 ? ['max-rtt'] : [] }));
    expect(envelope.intervalsPerBucket).toBe(2);
    expect(envelope.buckets.map((b) => [b.startMs, b.endMs, b.intervals, b.maxNs, b.lowMaxNs])).toEqual([
      [0, 20, 2, 9, 5], [20, 40, 2, 7, 3], [40, 60, 2, 8, 1], [60, 80, 2, 6, 2], [80, 100, 2, 10, 4],
    ]);
    expect(envelope.buckets.map((b) => b.alerts['max-rtt'] ?? 0)).toEqual([1, 0, 0, 0, 1]);
    expect(envelope.buckets[2]?.lost).toBe(1);
    // the lossy interval's own ratio, not the bucket's average (1 of 20)
    expect(envelope.buckets.map((b) => b.worstLossRatio)).toEqual([0, 0, 0.1, 0, 0]);
    expect(envelope.buckets.reduce((n, b) => n + b.sent, 0)).toBe(100);
  });

  it('an interval without replies has no max and does not erase its neighbour\'s', () => {
    const envelope = new IntervalEnvelope(2);
    [3, null, null].forEach((m, i) => envelope.add({ startMs: i, endMs: i + 1, maxNs: m, sent: 1, lost: m === null ? 1 : 0, alerts: [] }));
    expect(envelope.buckets.map((b) => [b.maxNs, b.lowMaxNs, b.lost])).toEqual([[3, 3, 1], [null, null, 1]]);
  });

  it('refuses an odd capacity (merging pairs needs an even one)', () => {
    expect(() => new IntervalEnvelope(7)).toThrow(/even/);
  });
});

describe('the dashboard\'s data over a 16 h soak (1 s intervals)', () => {
  const hours16 = 16 * 3600;
  const long = soak(hours16);

  it('stays within a fixed number of buckets and keeps the worst interval, every loss and every alert counted', () => {
    const envelope = long.envelope('guest');
    expect(envelope?.buckets.length).toBeLessThanOrEqual(480);
    expect(envelope?.buckets.length).toBeGreaterThan(240);
    expect(Math.max(...(envelope?.buckets ?? []).map((b) => b.maxNs ?? 0))).toBe(3_000_000);
    expect((envelope?.buckets ?? []).reduce((n, b) => n + b.lost, 0)).toBe(5 * Math.ceil(hours16 / 500));
    expect((envelope?.buckets ?? []).reduce((n, b) => n + (b.alerts['max-rtt'] ?? 0), 0)).toBe(Math.floor(hours16 / 100));
    expect(long.alertsByKind).toEqual({ 'max-rtt': Math.floor(hours16 / 100), loss: Math.ceil(hours16 / 500) });
    expect(long.recentAlerts).toHaveLength(RECENT_ALERTS);
    expect(long.alertsOf('guest')).toBe(Math.floor(hours16 / 100) + Math.ceil(hours16 / 500));
  });

  it('sends as much after 16 h as after 1 h: snapshot and charts do not grow with the soak', () => {
    const target = stats('guest', [80_000, 90_000, 2_000_000]);
    const facts = { startedMs: START_MS, settings: [['interval', '1 s']] as [string, string][] };
    const size = (timeline: SoakTimeline, seconds: number): number[] => [
      JSON.stringify(buildLiveSnapshot([target], 'kernel', timeline, facts, START_MS + seconds * 1000)).length,
      JSON.stringify(buildTargetDetail(target, timeline, THRESHOLDS, START_MS, 1, START_MS + seconds * 1000)).length,
    ];
    // Every 10 s interval alerts and is lost in part: the most a point can carry; 16 buckets, so it is quick.
    const worst = (seconds: number): SoakTimeline => {
      const timeline = new SoakTimeline(16);
      for (let i = 0; i < seconds / 10; i++) {
        const closed = interval(i, 10_000, 2_000_000 + i, 1000, 500);
        timeline.add('guest', closed, evaluateAlerts('guest', closed, THRESHOLDS));
      }
      return timeline;
    };
    const [snapshot1h = 0, detail1h = 0] = size(worst(3600), 3600);
    const [snapshot16h = 0, detail16h = 0] = size(worst(hours16), hours16);
    expect(snapshot16h).toBeLessThan(snapshot1h * 1.05);
    expect(detail16h).toBeLessThan(detail1h * 1.05);
    // and the default 480 buckets over the 16 h soak stay well below a megabyte a second
    expect(size(long, hours16)[1]).toBeLessThan(200_000);
  });

  it('draws the max chart with the threshold line, a ring per alerted point, the envelope band and clock times; no NaN', () => {
    const detail = buildTargetDetail(stats('guest', [80_000, 2_000_000]), long, THRESHOLDS, START_MS, 1, START_MS + hours16 * 1000);
    const chart = detail.charts.max_over_time;
    expect(chart).toContain('class="threshold"');
    expect(chart).toContain('--alert-max 500.0 µs');
    expect(chart).toContain('class="band"');
    expect(chart.match(/class="alert-marker"/g)?.length).toBeGreaterThan(20);
    expect(chart).toMatch(/>0[2468]:00</); // 2-hour ticks in UTC clock time
    expect(detail.intervals_per_point).toBeGreaterThan(1);
    for (const svg of Object.values(detail.charts)) expect(svg).not.toMatch(/NaN|Infinity/);
    expect(detail.charts.loss).toContain('--alert-loss 1.000%');
    // a 5% interval stays 5% however many intervals share its point; each is ringed as an alert
    expect(detail.charts.loss).toContain('>5%<');
    expect(detail.charts.loss.match(/class="alert-marker"/g)?.length).toBeGreaterThan(20);
    expect(detail.breakdown_columns).toEqual(['RTT', 'agent turnaround', 'network']);
    expect(detail.breakdown.at(-1)).toEqual(['max', '2000.0 µs', '1000.0 µs', '1000.0 µs']);
    expect(detail.agent).toBeNull();
  });

  it('before the first interval closes the charts say so and still parse as numbers', () => {
    const detail = buildTargetDetail(stats('new', []), new SoakTimeline(), { maxRttNs: null, lossRatio: null }, START_MS, 10, START_MS + 500);
    expect(detail.charts.max_over_time).toContain('no interval closed yet');
    expect(detail.charts.loss).toContain('no interval closed yet');
    expect(detail.charts.distribution).toContain('no round trips');
    for (const svg of Object.values(detail.charts)) expect(svg).not.toMatch(/NaN|Infinity/);
  });
});

describe('buildLiveSnapshot', () => {
  it('lists the targets worst max first, with the newest alerts first and the soak\'s start and duration', () => {
    const timeline = soak(1200, 'b');
    const snapshot = buildLiveSnapshot([stats('a', [100_000]), stats('b', [300_000]), stats('c', [])], 'kernel', timeline,
      { startedMs: START_MS, settings: [['rate', '100 Hz']] }, START_MS + 3_723_000);
    expect(snapshot.targets.map((t) => t.name)).toEqual(['b', 'a', 'c']);
    expect(snapshot.targets[0]?.alerts).toBe(timeline.alertsOf('b'));
    expect(snapshot.started).toBe('2026-12-04T00:00:00.000Z');
    expect(snapshot.duration_s).toBe(3723);
    expect(snapshot.alerts.total).toBe(1200 / 100 + 3);
    const times = snapshot.alerts.recent.map((a) => a.at);
    expect(times).toEqual([...times].sort().reverse());
    expect(snapshot.settings).toEqual([['rate', '100 Hz']]);
  });
});

describe('clockAxis', () => {
  it('ticks at round wall-clock steps, about 8 of them, labelled in UTC', () => {
    const minute = clockAxis(START_MS, START_MS + 60_000);
    expect(minute.ticks.map((t) => t.label)).toEqual(['00:00:00', '00:00:10', '00:00:20', '00:00:30', '00:00:40', '00:00:50', '00:01:00']);
    const day = clockAxis(START_MS + 1_234, START_MS + 16 * 3600_000);
    expect(day.ticks.map((t) => t.label)).toEqual(['02:00', '04:00', '06:00', '08:00', '10:00', '12:00', '14:00', '16:00']);
    expect(day.title).toBe('UTC time (2026-12-04)');
    expect(day.scale(START_MS + 1_234)).toBeLessThan(day.scale(START_MS + 3600_000));
  });
});
