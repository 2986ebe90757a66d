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
import { RT_PLACEMENT, renderManyTargets, type ManyTargetsStep } from './many-targets.js';
import { agentCounters, figuresOf, goalShortfalls, MANY_TARGETS_GOAL, slope, targetAddress, targetsFileText } from './many-targets-plan.js';
import { vethPlan } from './netns.js';
import { p50Ratio, stampsLine, summarizeRatios } from './observer-summary.js';
import { parseFping, parseFpingCount } from './peers/fping-parse.js';
import { parseIrttJson } from './peers/irtt-parse.js';
import { parsePing } from './peers/ping-parse.js';
import { cpuGoalLine, floorLine, jsFaultsLine, partsOfWindow, renderCpuPerProbe } from './cpu-per-probe.js';
import { parseSockperfFullLog, parseSockperfPercentilesUs, parseSockperfStdout } from './peers/sockperf-parse.js';
import { parseRtprobeReport } from './rtprobe-report.js';
import type { RtprobeTarget } from './rtprobe-report.js';
import { median, percentilesOf, quartiles } from './stats.js';
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
  it('reads the summary percentiles in µs, and nothing from output without them', () => {
    expect(parseSockperfPercentilesUs(fixture('sockperf-under-load.stdout'))).toEqual({ p50Us: 184.657, p99Us: 386.878, maxUs: 475.936 });
    expect(parseSockperfPercentilesUs('sockperf: Test ended\n')).toEqual({});
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
      expect(v.subnet).toBe(`10.254.${v.ctlAddr.split('.')[2]}.${last - 1}/30`);
    }
  });
  it('rounds rotate the order', () => {
    expect(roundOrder([1, 2, 3], 1)).toEqual([2, 3, 1]);
  });
  it('flags', () => {
    expect(parseArgs(['--quick'])).toMatchObject({ seconds: 5, rounds: 1 });
    expect(parseArgs(['--quick', '--seconds', '2'])).toMatchObject({ seconds: 2, rounds: 1 });
    expect(() => parseArgs(['--paths', 'eth0'])).toThrow();
    expect(parseArgs([]).paths).toEqual(['loopback', 'veth', 'qemu']);
    expect(parseArgs(['--paths', 'qemu']).paths).toEqual(['qemu']);
  });
});

describe('many targets (issue 15)', () => {
  it('1000 targets get 1000 distinct loopback addresses, 127.0.X.1–250', () => {
    const addrs = Array.from({ length: 1000 }, (_, i) => targetAddress(i));
    expect(new Set(addrs).size).toBe(1000);
    expect(addrs[0]).toBe('127.0.100.1');
    expect(addrs[249]).toBe('127.0.100.250');
    expect(addrs[250]).toBe('127.0.101.1');
    expect(addrs[999]).toBe('127.0.103.250');
    expect(() => targetAddress(-1)).toThrow();
    expect(() => targetAddress(250 * 156)).toThrow();
  });
  it('the targets file: a comment, then NAME=127.0.X.Y:PORT a line', () => {
    const lines = targetsFileText(3, 4242).trimEnd().split('\n');
    expect(lines).toEqual(['# 3 loopback addresses, one agent on 0.0.0.0:4242', 't1=127.0.100.1:4242', 't2=127.0.100.2:4242', 't3=127.0.100.3:4242']);
  });
  const target = (sent: number, received: number, missed: number, sendP99?: number): RtprobeTarget => {
    const t: RtprobeTarget = { name: 't', sent, received, lost: sent - received, missedSendSlots: missed, stampsTx: 'kernel', stampsRx: 'kernel' };
    if (sendP99 !== undefined) t.sendErrorNs = { p99: sendP99, max: sendP99, mean: 0 };
    return t;
  };
  it('sums the targets: missed over all slots, loss over sent; send error p99 over all probes, and the worst and median target\'s', () => {
    const three = [target(1000, 1000, 0, 20_000), target(990, 980, 10, 50_000), target(1000, 0, 0, 400_000)];
    const f = figuresOf(three, { p99: 400_000 });
    expect(f).toMatchObject({ targets: 3, silent: 1, sent: 2990, received: 1980, lost: 1010, missedSlots: 10 });
    expect(f.missedPct).toBeCloseTo(100 * 10 / 3000, 9);
    expect(f.lossPct).toBeCloseTo(100 * 1010 / 2990, 9);
    expect(f.sendErrorP99WorstNs).toBe(400_000);
    expect(f.sendErrorP99MedianNs).toBe(50_000);
    expect(f.sendErrorP99WithinGoal).toBe(2); // 20 and 50 µs of the three; the goal's 100 µs counts as within
    expect(figuresOf([target(10, 10, 0, 100_000), target(10, 10, 0, 100_001)]).sendErrorP99WithinGoal).toBe(1);
    expect(f.sendErrorP99AllNs).toBe(400_000);
    expect(goalShortfalls(f, 3)).toEqual(['1 target(s) never answered', 'missed slots 0.333 %', 'loss 33.779 %', 'send error p99 400 µs']);
    // the goal reads the p99 over all probes (all_targets), as it reads loss and missed slots, not the worst target's
    const tail = figuresOf([target(1000, 1000, 0, 90_000), target(1000, 1000, 0, 130_000)], { p99: 95_000 });
    expect(tail).toMatchObject({ sendErrorP99AllNs: 95_000, sendErrorP99WorstNs: 130_000, sendErrorP99WithinGoal: 1 });
    expect(goalShortfalls(tail, 2)).toEqual([]);
    // several targets and no all_targets (an older report): not a pass
    expect(goalShortfalls(figuresOf([target(1000, 1000, 0, 90_000), target(1000, 1000, 0, 90_000)]), 2)).toEqual(['no send error figures']);
  });
  it('the goal: met only when every part is, and a missing figure is not a pass', () => {
    expect(goalShortfalls(figuresOf([target(99_901, 99_901, 99, 100_000)]), 1)).toEqual([]);
    expect(goalShortfalls(figuresOf([target(99_900, 99_900, 100, 100_000)]), 1)).toEqual(['missed slots 0.100 %']);
    expect(goalShortfalls(figuresOf([target(100_000, 100_000, 0, 100_001)]), 1)).toEqual(['send error p99 100 µs']);
    expect(goalShortfalls(figuresOf([target(100, 100, 0)]), 2)).toEqual(['1 of 2 targets reported', 'no send error figures']);
    expect(goalShortfalls(figuresOf([]), 1)).toContain('loss – %');
  });
  it("the agent's counters from the lines it prints when stopped", () => {
    // captured from `rtprobe agent` on SIGTERM after 1000 targets × 5 s
    const out = 'listening udp 0.0.0.0:49450 (timestamps: kernel)\nrtprobe agent: received 39157, reflected 39157, rejected 0 (none)\nrtprobe agent: ended by SIGTERM\n';
    expect(agentCounters(out)).toEqual({ received: 39157, reflected: 39157 });
    const withEnds = 'rtprobe agent: received 1010, reflected 1000, rejected 0 (none), sessions ended by their controller 10\n';
    expect(agentCounters(withEnds)).toEqual({ received: 1000, reflected: 1000 }); // the session-ends are not probes
    expect(agentCounters('listening udp 0.0.0.0:1 (timestamps: kernel)\n')).toBeUndefined();
  });
  it('the row prints what it saw: pass, or MISSED with what fell short; the slope says what it rests on', () => {
    const step = (n: number, f: ReturnType<typeof figuresOf>, peak?: number): ManyTargetsStep => {
      const shortfalls = goalShortfalls(f, n);
      const s: ManyTargetsStep = { targetsAsked: n, rateHz: 100, seconds: 10, command: '', controllerCpuFrom: '', pass: shortfalls.length === 0, shortfalls, ...f };
      if (peak !== undefined) s.controllerPeakRssBytes = peak;
      return s;
    };
    const text = renderManyTargets({
      rateHz: 100, seconds: 10, goal: MANY_TARGETS_GOAL, controllerRssMiBPerTarget: 0.5,
      steps: [step(1, figuresOf([target(1000, 1000, 0, 50_000)]), 90 * 2 ** 20), step(1000, figuresOf([target(1000, 140, 130, 10_000_000)]))],
      ceiling: [],
    });
    expect(text).toMatch(/^1 × 100 Hz .* 50\.0 +50\.0 +50\.0 +1 of 1 +90\.0 .* pass$/m);
    expect(text).toMatch(/^1000 × 100 Hz .* MISSED: 1 of 1000 targets reported, missed slots 11\.504 %, loss 86\.000 %, send error p99 10000 µs$/m);
    expect(text).toContain('controller 512.0 KiB/target (0.5000 MiB) from 1 targets only');
  });
  it('the step with RT placement: its own row, marked and explained, and left out of the RSS slope', () => {
    const step = (n: number, peakMiB: number, placement?: string): ManyTargetsStep => {
      const f = figuresOf([target(1000, 1000, 0, 80_000)]);
      return { targetsAsked: n, rateHz: 100, seconds: 10, command: '', controllerCpuFrom: '', pass: true, shortfalls: [], ...f,
        controllerPeakRssBytes: peakMiB * 2 ** 20, ...(placement ? { placement } : {}) };
    };
    const text = renderManyTargets({
      rateHz: 100, seconds: 10, goal: MANY_TARGETS_GOAL, controllerRssMiBPerTarget: 0.5,
      steps: [step(1, 90), step(1000, 590), step(1000, 900, RT_PLACEMENT.label)], ceiling: [],
    });
    expect(text).toMatch(/^1000 × 100 Hz RT\* .* pass$/m);
    expect(text).toContain(`RT*: ${RT_PLACEMENT.label} (--rt-priority 50 --cpu 0 on the controller, --cpu 1 on the agent)`);
    // the slope rests on the two default steps, both measured: no "from … only"
    expect(text).toContain('least-squares slope over 1 / 1000 targets): controller 512.0 KiB/target (0.5000 MiB), agent');
    const skipped = renderManyTargets({ rateHz: 100, seconds: 10, goal: MANY_TARGETS_GOAL, steps: [step(1, 90)], ceiling: [],
      placementSkipped: 'not root (SCHED_FIFO needs CAP_SYS_NICE)' });
    expect(skipped).toContain('the step with RT placement: skipped, not root (SCHED_FIFO needs CAP_SYS_NICE)');
  });
  it('sockperf at the same rate: its drops and the CPU of both rtprobe processes against its two', () => {
    const s: ManyTargetsStep = { ...figuresOf([target(1000, 1000, 0, 50_000)]), targetsAsked: 1000, rateHz: 100, seconds: 10, command: '', controllerCpuFrom: '',
      pass: false, shortfalls: [], controllerCpuS: 9, agentCpuS: 6 };
    const text = renderManyTargets({
      rateHz: 100, seconds: 10, goal: MANY_TARGETS_GOAL, steps: [s],
      ceiling: [
        { messagesPerS: 100, seconds: 10, command: '', sent: 955, received: 955, droppedPct: 0, p50Us: 152, p99Us: 601, maxUs: 7070, clientCpuS: 10, serverCpuS: 0.06 },
        { messagesPerS: 100_000, seconds: 10, command: '', sent: 960_000, received: 825_000, droppedPct: 14.1, p50Us: 613, p99Us: 2380, maxUs: 5378, clientCpuS: 6, serverCpuS: 4 },
      ],
    });
    // below the top rate sockperf's client busy-polls: no ratio
    expect(text).toMatch(/^100 msg\/s +955 +0\.000 +152 +601 +7070 +10000\.0 +60\.0 +– +–$/m);
    // (9 + 6) s / 10⁶ messages = 15 µs against (6 + 4) s / 10⁶ = 10 µs
    expect(text).toMatch(/^100000 msg\/s +960000 +14\.100 +613 +2380 +5378 +6\.0 +4\.0 +15\.0 +1\.50×$/m);
    expect(renderManyTargets({ rateHz: 100, seconds: 10, goal: MANY_TARGETS_GOAL, steps: [s], ceiling: [], ceilingSkipped: 'sockperf not installed' }))
      .toContain("the machine's ceiling (sockperf): skipped, sockperf not installed");
  });
  it('median and slope', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([NaN])).toBeUndefined();
    // each the median of its half, the middle value of an odd count in neither
    expect(quartiles([5, 1, 4, 2, 3])).toEqual([1.5, 4.5]);
    expect(quartiles([8, 1, 7, 2, 6, 3, 5, 4])).toEqual([2.5, 6.5]);
    expect(quartiles([1, Number.NaN, 2])).toEqual([1, 2]);
    expect(quartiles([1])).toBeUndefined();
    // 90 MiB + 0.5 MiB a target, measured at 1 / 100 / 1000 targets
    const mib = 2 ** 20;
    const k = slope([1, 100, 1000].map((x) => ({ x, y: 90 * mib + 0.5 * mib * x })));
    expect((k ?? NaN) / mib).toBeCloseTo(0.5, 9);
    expect(slope([{ x: 1, y: 5 }, { x: 1, y: 7 }])).toBeUndefined();
    expect(slope([{ x: 1, y: 5 }, { x: 2, y: NaN }])).toBeUndefined();
  });
});

describe('CPU per probe (issue 15 item 3)', () => {
  it('cuts a window into parts of 10 s or more, at least one', () => {
    expect([3, 8, 10, 19, 20, 60, 65].map(partsOfWindow)).toEqual([1, 1, 1, 1, 2, 6, 6]);
  });

  it('judges each process against fping in the same run, and says when it could not', () => {
    expect(cpuGoalLine({ controllerVsFping: 110 / 53, agentVsFping: 50 / 53, controllerVsFpingQuartiles: null, agentVsFpingQuartiles: null })).toMatch(/controller MISSED \(2\.08×\), agent met \(0\.94×\)$/);
    expect(cpuGoalLine({ controllerVsFping: 1, agentVsFping: null, controllerVsFpingQuartiles: null, agentVsFpingQuartiles: null })).toMatch(/controller met \(1\.00×\), agent not judged \(not measured\)$/);
    expect(cpuGoalLine({ controllerVsFping: null, agentVsFping: 0.9, controllerVsFpingQuartiles: null, agentVsFpingQuartiles: null })).toContain('controller not judged');
    // fping measured nothing in its window (0 µs): a ratio of Infinity is not judged either
    expect(cpuGoalLine({ controllerVsFping: Infinity, agentVsFping: Number.NaN, controllerVsFpingQuartiles: null, agentVsFpingQuartiles: null })).toContain('controller not judged (not measured), agent not judged');
    // with the quartiles of the parts' ratios: whether the middle half is on one side of 1
    expect(cpuGoalLine({ controllerVsFping: 0.99, agentVsFping: 0.6, controllerVsFpingQuartiles: [0.91, 1.08], agentVsFpingQuartiles: [0.55, 0.66] }))
      .toMatch(/controller met \(0\.99×; middle half of the parts 0\.91–1\.08×, not clear of 1\), agent met \(0\.60×; middle half of the parts 0\.55–0\.66×\)$/);
    expect(cpuGoalLine({ controllerVsFping: 1.24, agentVsFping: null, controllerVsFpingQuartiles: [1.12, 1.31], agentVsFpingQuartiles: null }))
      .toMatch(/controller MISSED \(1\.24×; middle half of the parts 1\.12–1\.31×\), agent not judged/);
  });

  it("the table splits each process into its I/O thread, its JavaScript thread and the rest (V8's threads), each beside fping", () => {
    const none = { controllerSpinAutoUs: null, controllerIcmpUs: null, controllerIcmpIoThreadUs: null, irttClientUs: null, irttServerUs: null,
      controllerVsFping: null, controllerSpinAutoVsFping: null, agentVsFping: null, floorUs: null, ioThreadVsFloor: null, pairedParts: 0, controllerJsThreadFaults: null,
      controllerVsFpingQuartiles: null, agentVsFpingQuartiles: null };
    const table = renderCpuPerProbe({ windowS: 30, warmUpS: 20, rounds: 1, controllerUs: 110, controllerIoThreadUs: 87, controllerJsThreadUs: 17,
      agentUs: 58, agentIoThreadUs: 43, agentJsThreadUs: 8, fpingUs: 50, ...none });
    const rows = table.split('\n').filter((line) => line.includes("V8's compiler and GC threads"));
    expect(rows.map((row) => row.trim().split(/\s{2,}/).slice(1))).toEqual([['6', '0.1'], ['7', '0.1']]);
    // the rows measured beside fping show the median of their pairs, not the mean over fping's mean
    const pairedTable = renderCpuPerProbe({ windowS: 30, warmUpS: 20, rounds: 2, controllerUs: 110, controllerIoThreadUs: 87, controllerJsThreadUs: 17,
      agentUs: 58, agentIoThreadUs: 43, agentJsThreadUs: 8, fpingUs: 50, ...none, controllerSpinAutoUs: 120, controllerVsFping: 1.09, controllerSpinAutoVsFping: 1.31, agentVsFping: 0.56 });
    const cells = (label: string): string[] => pairedTable.split('\n').find((line) => line.startsWith(label))?.trim().split(/\s{2,}/).slice(1) ?? [];
    expect(cells('rtprobe run (controller')).toEqual(['110', '1.09 paired']);
    expect(cells('rtprobe run --spin auto')).toEqual(['120', '1.31 paired']);
    expect(cells('rtprobe agent')).toEqual(['58', '0.56 paired']);
    expect(cells("rtprobe run icmp://")).toEqual(['—', '—']);
    expect(cells('  the floor')).toEqual(['—', '— (no cc)']);
    expect(pairedTable).toContain('I/O thread ÷ its floor: not measured (no C compiler)');
    // the footnote says in how many parts fping and the floor were started afresh, and over how many ratios the median is
    const parted = renderCpuPerProbe({ windowS: 60, warmUpS: 60, rounds: 2, controllerUs: 80, controllerIoThreadUs: 76, controllerJsThreadUs: 3,
      agentUs: 43, agentIoThreadUs: 40, agentJsThreadUs: 3, fpingUs: 78, ...none, controllerVsFping: 1.02, pairedParts: 12 });
    expect(parted).toContain('started afresh for each of 6 part(s) of the window');
    expect(parted).toContain("'paired': the median of those 12 same-seconds ratios");
    // with the C loop beside the controller: its row over fping, and the I/O thread's paired ratio to it
    const floorTable = renderCpuPerProbe({ windowS: 30, warmUpS: 20, rounds: 2, controllerUs: 110, controllerIoThreadUs: 87, controllerJsThreadUs: 17,
      agentUs: 58, agentIoThreadUs: 43, agentJsThreadUs: 8, fpingUs: 50, ...none, floorUs: 80, ioThreadVsFloor: 1.04 });
    expect(floorTable.split('\n').find((line) => line.includes('the floor'))?.trim().split(/\s{2,}/).slice(1)).toEqual(['80', '1.6']);
    expect(floorLine({ ioThreadVsFloor: 1.04 })).toMatch(/I\/O thread ÷ its floor .*: 1\.04×$/);
    expect(jsFaultsLine({ controllerJsThreadFaults: 0.314 })).toMatch(/minor page faults: 0\.31 a probe/);
    expect(floorTable).toContain("JavaScript thread's minor page faults: not measured");
    // a thread not measured leaves the rest unknown, not the whole
    expect(renderCpuPerProbe({ windowS: 30, warmUpS: 20, rounds: 1, controllerUs: 110, controllerIoThreadUs: null, controllerJsThreadUs: 17,
      agentUs: null, agentIoThreadUs: null, agentJsThreadUs: null, fpingUs: null, ...none })).toMatch(/V8's compiler and GC threads \(the rest\)\s+—/);
  });
});

describe('observer effect (issue 15)', () => {
  it('fping -C: one row per host, an RTT per reply, - for a probe without one', () => {
    // captured here: 127.0.0.1; 127.0.0.4 and .3 in a namespace with icmp_echo_ignore_all set midway / throughout
    const rows = parseFpingCount(`${fixture('fping-C.stderr')}ICMP Host Unreachable from 10.0.0.1 for ICMP Echo sent to 10.0.0.9\n`);
    expect(rows.map((r) => r.host)).toEqual(['127.0.0.1', '127.0.0.4', '127.0.0.3']);
    expect(rows[0]).toEqual({ host: '127.0.0.1', rttNs: [29_000, 15_000, 14_000, 11_000, 12_000], lost: 0 });
    expect(rows[1]).toEqual({ host: '127.0.0.4', rttNs: [39_000, 48_000, 55_000], lost: 3 });
    expect(rows[2]).toEqual({ host: '127.0.0.3', rttNs: [], lost: 3 });
    expect(parseFpingCount('')).toEqual([]);
  });
  it("fping -C p50 goes through the same histogram as rtprobe's own (1 ns floor, 3 digits: 8 ns buckets here)", () => {
    const row = parseFpingCount(fixture('fping-C.stderr'))[0];
    // samples 11, 12, 14, 15, 29 µs: the median 14 µs, reported as its bucket's highest value (within 0.1 %)
    expect(percentilesOf(row?.rttNs ?? []).p50).toBe(14_007);
  });
  it('ratio rtprobe/fping per pair, the median over pairs, failed sides left out', () => {
    expect(p50Ratio({ rtprobeP50Ns: 30_000, fpingP50Ns: 20_000 })).toBe(1.5);
    expect(p50Ratio({ rtprobeP50Ns: 30_000 })).toBeUndefined();
    expect(p50Ratio({ rtprobeP50Ns: 30_000, fpingP50Ns: 0 })).toBeUndefined();
    const s = summarizeRatios([
      { rtprobeP50Ns: 10, fpingP50Ns: 20 },
      { rtprobeP50Ns: 40, fpingP50Ns: 20 },
      { fpingP50Ns: 20 },
      { rtprobeP50Ns: 30, fpingP50Ns: 20 },
    ]);
    expect(s.ratios).toEqual([0.5, 2, undefined, 1.5]);
    expect(s).toMatchObject({ median: 1.5, min: 0.5, max: 2 });
    expect(summarizeRatios([{}]).median).toBeUndefined();
  });
  it('names the clocks each side was stamped with, as the rounds said, every distinct one', () => {
    const pair = (rtprobe: string) => ({ rtprobe: { stamps: rtprobe }, fping: { stamps: 'tx user, rx kernel (SO_TIMESTAMPNS)' } });
    expect(stampsLine([pair('tx kernel, rx kernel'), pair('tx kernel, rx kernel')]))
      .toBe('  stamped by: rtprobe tx kernel, rx kernel; fping tx user, rx kernel (SO_TIMESTAMPNS)');
    expect(stampsLine([pair('tx kernel, rx kernel'), pair('tx user, rx user')])).toContain('rtprobe tx kernel, rx kernel / tx user, rx user;');
    expect(stampsLine([])).toBe('  stamped by: rtprobe ?; fping ?');
  });
});
