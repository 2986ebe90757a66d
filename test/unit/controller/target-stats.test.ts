import { describe, expect, it } from 'vitest';
import { TargetStats, type ResolvedTarget } from '../../../controller/recording/target-stats.js';

const options = { capacity: 16, timeoutNs: 1e9, lossAfterNs: 1_000_000_000n };
const udp: ResolvedTarget = { name: 'u', address: '127.0.0.1', port: 7707, family: 4, mode: 'udp' };
const icmp: ResolvedTarget = { name: 'i', address: '127.0.0.1', port: 0, family: 4, mode: 'icmp' };

/** Which of a target's histograms have their counts arrays. */
function allocated(stats: TargetStats, withInterval: boolean): Record<string, boolean> {
  const run = { rtt: stats.rtt.allocated, send_error: stats.sendError.allocated, turnaround: stats.turnaround.allocated, network: stats.network.allocated };
  if (!withInterval) return run;
  const h = stats.interval.histograms;
  return { ...run, interval_rtt: h.rtt.allocated, interval_send_error: h.send_error.allocated, interval_turnaround: h.turnaround.allocated };
}

describe('TargetStats.allocateHistograms (before the first probe)', () => {
  it('a run: a UDP target gets its four run-wide histograms, an ICMP one rtt and send error only; none before', () => {
    const u = new TargetStats(udp, 1, options);
    const i = new TargetStats(icmp, 2, options);
    expect(Object.values(allocated(u, false)).some(Boolean)).toBe(false);
    u.allocateHistograms();
    i.allocateHistograms();
    expect(allocated(u, false)).toEqual({ rtt: true, send_error: true, turnaround: true, network: true });
    expect(allocated(i, false)).toEqual({ rtt: true, send_error: true, turnaround: false, network: false });
  });

  it('a soak (intervals recorded): the interval histograms too, by mode; recording afterwards is unchanged', () => {
    const u = new TargetStats(udp, 1, options);
    const i = new TargetStats(icmp, 2, options);
    for (const s of [u, i]) {
      s.recordsIntervals = true;
      s.allocateHistograms();
    }
    expect(allocated(u, true)).toEqual({ rtt: true, send_error: true, turnaround: true, network: true,
      interval_rtt: true, interval_send_error: true, interval_turnaround: true });
    expect(allocated(i, true)).toEqual({ rtt: true, send_error: true, turnaround: false, network: false,
      interval_rtt: true, interval_send_error: true, interval_turnaround: false });
    u.recordRoundTrip({ seq: 0n, rttNs: 50_000, sentWallMs: Date.now(), late: false, userFallback: false, turnaroundNs: 20_000 });
    expect(u.rtt.summary()).toMatchObject({ count: 1, min: 50_000, max: 50_000 });
    expect(u.network.summary()).toMatchObject({ count: 1, min: 30_000 });
    expect(u.interval.histograms.rtt.count).toBe(1);
  });
});
