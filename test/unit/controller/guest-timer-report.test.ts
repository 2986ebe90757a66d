/** The controller's side of the guest timer: annotation of the worst round trips, coincidence, report JSON and text, /metrics. */
import { describe, expect, it } from 'vitest';
import { AgentView } from '../../../controller/agent-stream/agent-view.js';
import {
  agentArrivalMs, annotateWithInterval, RecentTimerIntervals, timerCoincidence, type TimedRoundTrip,
} from '../../../controller/recording/guest-timer-intervals.js';
import { TargetStats } from '../../../controller/recording/target-stats.js';
import { buildTargetReport } from '../../../controller/report/run-report.js';
import { formatTargetReport, formatTimerCoincidence } from '../../../controller/report/format-report.js';
import { formatPrometheusMetrics } from '../../../controller/soak/prometheus-metrics.js';
import { encodeHistogram } from '../../../shared/histogram/histogram-transport.js';
import { LatencyHistogram } from '../../../shared/histogram/latency-histogram.js';
import type { HelloMessage, IntervalMessage } from '../../../shared/messages/agent-messages.js';

const T0 = Date.UTC(2026, 0, 1, 12);

const HELLO: HelloMessage = {
  type: 'hello', v: 1, agent_version: 't', instance: 'i', clocks: { t2: 'kernel', t3: 'kernel', turnaround: 'k' },
  clock_sync: { mode: 'none', error_ns: null }, interval_ms: 1000, replay_ms: 1000, first_id: 0, last_id: 0,
  timer: { running: true, interval_ns: 1_000_000, priority: 95, cpu: 1 },
};

/** Agent interval `index` (1 s from T0) whose timer recorded `values`, its max at `maxAtMs`. */
function interval(index: number, values: number[], maxAtMs = T0 + index * 1000 + 500): IntervalMessage {
  const h = new LatencyHistogram();
  for (const v of values) h.record(v);
  return {
    type: 'interval', v: 1, id: index + 1, session: 1, peer: 'p', start_ms: T0 + index * 1000, end_ms: T0 + (index + 1) * 1000,
    histograms: values.length === 0 ? {} : { timer: { count: h.count, max_ns: h.maxNs, encoded: encodeHistogram(h.histogram), max_at_ms: maxAtMs } },
    counts: { received: 0, gaps: 0, reordered: 0, duplicates: 0, rejected: {} },
  };
}

function stats(): TargetStats {
  return new TargetStats({ name: 'g', address: '127.0.0.1', port: 7707, family: 4, mode: 'udp' }, 1,
    { capacity: 64, timeoutNs: 1e9, lossAfterNs: 10_000_000_000n });
}

/** A round trip of `rttNs` sent at T0 + atOffsetMs. */
function roundTrip(seq: number, atOffsetMs: number, rttNs: number) {
  return { seq: BigInt(seq), rttNs, sentWallMs: T0 + atOffsetMs, late: false, userFallback: false, turnaroundNs: null };
}

describe('guest timer intervals', () => {
  it('a probe reached the agent half a round trip after it was sent', () => {
    expect(agentArrivalMs({ atMs: 1000, rttNs: 4e6 })).toBe(1002);
  });

  it('RecentTimerIntervals finds the interval holding a time, forgets the oldest beyond its capacity', () => {
    const recent = new RecentTimerIntervals(2);
    recent.add({ startMs: 0, endMs: 10, maxNs: 5 });
    recent.add({ startMs: 10, endMs: 20, maxNs: null });
    expect(recent.maxAt(0)).toBe(5);
    expect(recent.maxAt(10)).toBeNull();
    expect(recent.maxAt(20)).toBeUndefined();
    recent.add({ startMs: 20, endMs: 30, maxNs: 7 });
    expect(recent.maxAt(5)).toBeUndefined();
    expect(recent.maxAt(25)).toBe(7);
  });

  it('annotateWithInterval sets only the round trips in it that were not annotated yet', () => {
    const trips: TimedRoundTrip[] = [{ atMs: 5, rttNs: 0 }, { atMs: 15, rttNs: 0 }, { atMs: 6, rttNs: 0, guestTimerMaxNs: 1 }];
    annotateWithInterval(trips, { startMs: 0, endMs: 10, maxNs: 99 });
    expect(trips.map((t) => t.guestTimerMaxNs)).toEqual([99, undefined, 1]);
  });

  it('timerCoincidence counts the worst round trips whose interval timer max exceeded the RTT p99', () => {
    const worst = [{ guest_timer_max_ns: 500 }, { guest_timer_max_ns: 100 }, { guest_timer_max_ns: null }, { guest_timer_max_ns: 300 }];
    expect(timerCoincidence(worst, 200)).toEqual({ worst: 4, annotated: 3, above_rtt_p99: 2, rtt_p99_ns: 200 });
    expect(timerCoincidence(worst, null).above_rtt_p99).toBe(0);
    expect(formatTimerCoincidence(timerCoincidence(worst, 200_000 - 1)))
      .toBe("0 of the 4 worst round trips fell in agent intervals whose guest timer max exceeded the RTT's p99 (200.0 µs); 1 fell in intervals without a timer figure");
  });
});

describe('worst round trips annotated with the guest timer', () => {
  it('whether the round trip or its agent interval arrives first, each worst one gets its interval\'s timer max', () => {
    const s = stats();
    const view = new AgentView('ws://x');
    view.hello = HELLO;
    s.attachAgent(view);
    // interval 0 arrives first, then a worst round trip in it; a round trip in interval 1 before its interval
    view.addInterval(interval(0, [20_000, 30_000, 3_000_000]));
    s.recordRoundTrip(roundTrip(1, 400, 5e6));
    s.recordRoundTrip(roundTrip(2, 1400, 80_000));
    for (let seq = 3; seq < 20; seq++) s.recordRoundTrip(roundTrip(seq, 1500 + seq, 40_000));
    expect(s.worst.entries.find((w) => w.seq === 2n)?.guestTimerMaxNs).toBeUndefined();
    view.addInterval(interval(1, [25_000]));
    const report = buildTargetReport(s, 'kernel');
    expect(report.worst.slice(0, 2)).toEqual([
      { seq: 1, rtt_ns: 5e6, at: new Date(T0 + 400).toISOString(), guest_timer_max_ns: 3_000_000 },
      { seq: 2, rtt_ns: 80_000, at: new Date(T0 + 1400).toISOString(), guest_timer_max_ns: 25_000 },
    ]);
    // probes 3..19 fell in interval 1 too; no interval 2 arrived for none
    expect(report.timer_coincidence).toMatchObject({ worst: 10, annotated: 10 });
    expect(report.agent?.timer_ns).toMatchObject({ count: 4, max: 3_000_000, interval_ns: 1_000_000, priority: 95, cpu: 1,
      max_at: new Date(T0 + 500).toISOString() });
    const text = formatTargetReport(report);
    expect(text).toContain('guest timer max 3000.0 µs');
    expect(text).toMatch(/\d+ of the 10 worst round trips fell in agent intervals whose guest timer max exceeded the RTT's p99/);
    expect(text).toMatch(/guest timer\n/);
    expect(text).toContain('guest timer: wake-up latency every 1000.0 µs on the agent\'s CLOCK_MONOTONIC, SCHED_FIFO 95, CPU 1, 4 wake-ups');
  });

  it('an agent without the timer: no annotation, no coincidence, timer_ns null and the column says off', () => {
    const s = stats();
    const view = new AgentView('ws://x');
    view.hello = { ...HELLO, timer: { running: false, interval_ns: 0, priority: null, cpu: null } };
    s.attachAgent(view);
    s.recordRoundTrip(roundTrip(1, 400, 5e6));
    view.addInterval(interval(0, []));
    const report = buildTargetReport(s, 'kernel');
    expect(report.worst[0]).toEqual({ seq: 1, rtt_ns: 5e6, at: new Date(T0 + 400).toISOString() });
    expect(report.timer_coincidence).toBeUndefined();
    expect(report.agent?.timer_ns).toBeNull();
    expect(formatTargetReport(report)).toMatch(/max .* off\n/);
  });

  it('/metrics has rtprobe_guest_timer_latency_seconds only for targets whose agent runs the timer', () => {
    const s = stats();
    expect(formatPrometheusMetrics([s])).not.toContain('guest_timer');
    const view = new AgentView('ws://x');
    view.hello = HELLO;
    s.attachAgent(view);
    view.addInterval(interval(0, [20_000, 30_000, 3_000_000]));
    const text = formatPrometheusMetrics([s]);
    expect(text).toContain('# TYPE rtprobe_guest_timer_latency_seconds histogram');
    expect(text).toContain('rtprobe_guest_timer_latency_seconds_bucket{target="g",address="127.0.0.1",mode="udp",le="0.000001"} 0');
    expect(text).toContain('rtprobe_guest_timer_latency_seconds_bucket{target="g",address="127.0.0.1",mode="udp",le="0.00005"} 2');
    expect(text).toContain('rtprobe_guest_timer_latency_seconds_bucket{target="g",address="127.0.0.1",mode="udp",le="+Inf"} 3');
    expect(text).toContain('rtprobe_guest_timer_latency_seconds_count{target="g",address="127.0.0.1",mode="udp"} 3');
  });
});
