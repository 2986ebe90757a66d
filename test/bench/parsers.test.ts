/**
 * The bench's pure parts against outputs captured from the real tools on this machine kind
 * (fixtures/). Part of `npm test` (test/vitest.config.ts includes the .test.ts files under
 * test/bench); alone: npx vitest run --config test/vitest.config.ts test/bench
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { summarizeTool } from './aggregate.js';
import { parseArgs } from './args.js';
import { checkTargets, ratios } from './compare.js';
import { vethPlan } from './netns.js';
import { parseFping } from './peers/fping-parse.js';
import { parseIrttJson } from './peers/irtt-parse.js';
import { parsePing } from './peers/ping-parse.js';
import { parseSockperfFullLog, parseSockperfStdout } from './peers/sockperf-parse.js';
import { parseRtprobeReport } from './rtprobe-report.js';
import { percentilesOf } from './stats.js';
import type { RoundResult } from './tool-result.js';
import { roundOrder } from './tools.js';

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

describe('irtt JSON', () => {
  const p = parseIrttJson(fixture('irtt-client-lost.json'));
  it('keeps received round trips only, client receive − send', () => {
    expect(p.sent).toBe(7);
    expect(p.received).toBe(6);
    expect(p.rttNs).toHaveLength(6);
    expect(p.irttRttNs).toHaveLength(6);
  });
  it("irtt's own rtt is the client RTT minus server processing", () => {
    for (let i = 0; i < p.rttNs.length; i++) expect(p.rttNs[i]).toBeGreaterThanOrEqual(p.irttRttNs[i] ?? Infinity);
  });
  it('reads the timer error', () => {
    expect(p.timerErrorNs?.max).toBeGreaterThan(0);
  });
});

describe('sockperf', () => {
  it('uses rxTime − txTime (full RTT) with --full-rtt', () => {
    const rtts = parseSockperfFullLog(fixture('sockperf-full-rtt.csv'));
    expect(rtts).toHaveLength(55);
    // row "0, ..." of the fixture: rtt(usec) column is rx − tx
    expect(rtts[0]).toBeGreaterThan(100_000);
  });
  it('ignores the last column, which is RTT/2 without --full-rtt', () => {
    const rtts = parseSockperfFullLog(fixture('sockperf-half-rtt.csv'));
    // 0, 2.414411973, 2.414545555, 66.791  → 133.582 µs round trip
    expect(rtts[0]).toBe(133_582);
    expect(rtts).toHaveLength(5);
  });
  it('reads the valid-window counters through colour escapes', () => {
    expect(parseSockperfStdout(fixture('sockperf-under-load.stdout'))).toEqual({ sent: 55, received: 55, dropped: 0, durationS: 0.54 });
  });
});

describe('ping / fping', () => {
  it('ping time= and summary', () => {
    const p = parsePing(fixture('ping.stdout'));
    expect(p.sent).toBe(5);
    expect(p.received).toBe(5);
    expect(p.rttNs).toHaveLength(5);
    expect(p.durationS).toBeGreaterThan(0);
  });
  it('fping -D lines and the stderr summary', () => {
    const p = parseFping(fixture('fping.stdout'), fixture('fping.stderr'));
    expect(p.rttNs).toEqual([32_000, 24_000, 40_000, 29_000, 19_000]);
    expect(p.sent).toBe(5);
    expect(p.durationS).toBeCloseTo(0.04056, 4);
  });
});

describe('rtprobe report', () => {
  it('reads the fields the bench uses and tolerates missing ones', () => {
    const r = parseRtprobeReport(JSON.stringify({
      version: 1, duration_s: 2, rate_hz: 100,
      process: { rss_bytes: 5e7, cpu_user_s: 1, cpu_system_s: 0.5 },
      targets: [{ name: 't0', sent: 200, received: 199, missed_send_slots: 1,
        timestamps: { tx: 'kernel', rx: 'kernel' },
        rtt_ns: { count: 199, p50: 1, p99: 2, p99_9: 3, max: 4 }, send_error_ns: { p99: 5, max: 6, mean: 7 } }],
    }));
    expect(r.process?.cpuSystemS).toBe(0.5);
    expect(r.targets[0]?.lost).toBe(1);
    expect(r.targets[0]?.rtt?.p99_9).toBe(3);
    expect(parseRtprobeReport('{"targets":[{}]}').targets[0]?.stampsTx).toBe('?');
  });
});

describe('merging and comparing', () => {
  const round = (tool: RoundResult['tool'], extra: Partial<RoundResult>): RoundResult => ({
    tool, round: 0, ok: true, sent: 100, received: 100, durationS: 1, stamps: 's', ...extra,
  });
  it('peers: one histogram over all rounds; rtprobe: mean of percentiles, max of maxima', () => {
    const peer = summarizeTool('irtt', [round('irtt', { rttNs: [10_000, 20_000] }), round('irtt', { rttNs: [30_000] })]);
    expect(peer.rtt?.count).toBe(3);
    expect(peer.merged).toBe('all samples');
    const me = summarizeTool('rtprobe-kernel', [
      round('rtprobe-kernel', { rtt: { count: 1, p50: 10, p99: 20, p99_9: 30, max: 40 } }),
      round('rtprobe-kernel', { rtt: { count: 1, p50: 30, p99: 40, p99_9: 50, max: 60 } }),
    ]);
    expect(me.rtt).toEqual({ count: 2, p50: 20, p99: 30, p99_9: 40, max: 60 });
  });
  it('targets: met, missed, not measured', () => {
    const me = summarizeTool('rtprobe-kernel', [round('rtprobe-kernel', { rtt: { count: 1, p50: 1, p99: 1, p99_9: 100_000, max: 1 }, sendError: { max: 10_000 } })]);
    const irtt = summarizeTool('irtt', [round('irtt', { rttNs: [300_000], sendError: { max: 50_000 } })]);
    const [a, b, c] = checkTargets([me, irtt]);
    expect(a?.pass).toBe(true);
    expect(b?.pass).toBeUndefined();
    expect(c?.pass).toBe(false);
    expect(ratios([me, irtt])[0]?.peer).toBe('irtt');
  });
  it('percentiles never exceed the max', () => {
    const p = percentilesOf([2_000, 60_000_000]);
    expect(p.p99_9).toBeLessThanOrEqual(p.max);
  });
});

describe('plumbing', () => {
  it('veth addresses are a /30 inside 10.254/16', () => {
    for (const pid of [1, 255, 256, 4_194_303]) {
      const v = vethPlan(pid);
      const last = Number(v.ctlAddr.split('.')[3]);
      expect(v.ctlAddr.startsWith('10.254.')).toBe(true);
      expect(last % 4).toBe(1);
      expect(Number(v.guestAddr.split('.')[3])).toBe(last + 1);
      expect(`rtpbc${pid}`.length).toBeLessThanOrEqual(15);
    }
  });
  it('rounds rotate the order', () => {
    expect(roundOrder([1, 2, 3], 1)).toEqual([2, 3, 1]);
  });
  it('flags', () => {
    expect(parseArgs(['--quick'])).toMatchObject({ seconds: 5, rounds: 1 });
    expect(parseArgs(['--quick', '--seconds', '2'])).toMatchObject({ seconds: 2, rounds: 1 });
    expect(() => parseArgs(['--paths', 'eth0'])).toThrow();
  });
});
