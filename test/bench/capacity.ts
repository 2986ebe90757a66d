/**
 * Loopback only: (a) the highest aggregate probe rate one controller sustains (< 0.1% loss
 * and < 0.1% missed send slots), stepping up rate and then target count; (b) controller CPU
 * per 1000 probes; (c) controller RSS after 10^4 vs 10^6 probes (issue target: < 5 MB growth).
 */
import { join } from 'node:path';
import type { BenchPath } from './bench-path.js';
import { fixed, formatTable } from './format-table.js';
import { tail } from './proc.js';
import { runController, startAgent } from './rtprobe-runner.js';
import type { ControllerRun, StampMode } from './rtprobe-runner.js';

export interface RateStep {
  targets: number;
  rateHz: number;
  sent: number;
  lossPct: number;
  missedPct: number;
  achievedHz: number;
  cpuMsPer1k?: number;
  pass: boolean;
  note?: string;
}

export interface RssPoint {
  probes: number;
  rateHz: number;
  rssBytes?: number;
  cpuS?: number;
  from: string;
  note?: string;
}

export interface CapacityResult {
  mode: StampMode;
  steps: RateStep[];
  sustainedHz?: number;
  rss: RssPoint[];
  rssGrowthBytes?: number;
  cpuMsPer1k?: number;
}

const LADDER: readonly { targets: number; rateHz: number }[] = [
  { targets: 1, rateHz: 1000 },
  { targets: 1, rateHz: 2000 },
  { targets: 1, rateHz: 5000 },
  { targets: 1, rateHz: 10000 },
  { targets: 1, rateHz: 20000 },
  { targets: 2, rateHz: 20000 },
  { targets: 4, rateHz: 20000 },
];
const LIMIT_PCT = 0.1;

function cpuOf(c: ControllerRun): { cpuS?: number; from: string } {
  const p = c.report?.process;
  if (p) return { cpuS: p.cpuUserS + p.cpuSystemS, from: 'report process block' };
  if (c.finished.cpuS !== undefined) return { cpuS: c.finished.cpuS, from: 'cutime/cstime of the child' };
  return { from: 'none' };
}

async function oneController(
  path: BenchPath,
  mode: StampMode,
  tmpDir: string,
  name: string,
  opts: { targets: number; rateHz: number; seconds?: number; count?: number },
): Promise<ControllerRun> {
  const sendS = opts.count !== undefined ? opts.count / opts.rateHz : (opts.seconds ?? 1);
  const timeoutS = sendS * 3 + 30;
  const agent = await startAgent(path, mode, timeoutS + 30);
  try {
    const call = { path, agent, targets: opts.targets, rateHz: opts.rateHz, mode, jsonFile: join(tmpDir, `${name}.json`), timeoutS, sampleProc: true };
    return await runController(opts.count !== undefined ? { ...call, count: opts.count } : { ...call, seconds: opts.seconds ?? 1 });
  } finally {
    await agent.service.stop();
  }
}

export async function measureCapacity(
  path: BenchPath,
  mode: StampMode,
  tmpDir: string,
  o: { stepSeconds: number; rssCounts: readonly [number, number]; rssBudgetS: number; log: (s: string) => void },
): Promise<CapacityResult> {
  const res: CapacityResult = { mode, steps: [], rss: [] };
  for (const s of LADDER) {
    const c = await oneController(path, mode, tmpDir, `cap-${s.targets}x${s.rateHz}`, { ...s, seconds: o.stepSeconds });
    const ts = c.report?.targets ?? [];
    const sent = ts.reduce((a, t) => a + t.sent, 0);
    const received = ts.reduce((a, t) => a + t.received, 0);
    const missed = ts.reduce((a, t) => a + t.missedSendSlots, 0);
    const step: RateStep = {
      ...s,
      sent,
      lossPct: sent > 0 ? (100 * (sent - received)) / sent : NaN,
      missedPct: sent + missed > 0 ? (100 * missed) / (sent + missed) : NaN,
      achievedHz: c.report && c.report.durationS > 0 ? sent / c.report.durationS : NaN,
      pass: false,
    };
    const cpu = cpuOf(c).cpuS;
    if (cpu !== undefined && sent > 0) step.cpuMsPer1k = (1e6 * cpu) / sent;
    step.pass = ts.length === s.targets && sent > 0 && step.lossPct < LIMIT_PCT && step.missedPct < LIMIT_PCT;
    if (!c.report) step.note = `no report (exit ${c.finished.code ?? c.finished.signal})\n${tail(c.finished)}`;
    res.steps.push(step);
    o.log(`  ${s.targets} × ${s.rateHz} Hz: sent ${sent}, loss ${fixed(step.lossPct, 3)} %, missed slots ${fixed(step.missedPct, 3)} % → ${step.pass ? 'ok' : 'stop'}`);
    if (!step.pass) break;
    res.sustainedHz = s.targets * s.rateHz;
  }

  // RSS/CPU at the highest single-target rate the controller kept (at most 20 kHz), or the
  // lowest step if it kept none; the long run is shortened to fit the time budget
  const single = res.steps.filter((s) => s.pass && s.targets === 1).map((s) => s.rateHz);
  const rssRate = single.length > 0 ? Math.max(...single) : (LADDER[0]?.rateHz ?? 1000);
  const atRate = res.steps.find((s) => s.targets === 1 && s.rateHz === rssRate)?.achievedHz;
  const expectedHz = atRate !== undefined && Number.isFinite(atRate) && atRate > 0 ? Math.min(rssRate, atRate) : rssRate;
  for (const wanted of o.rssCounts) {
    const fits = Math.max(1000, Math.floor((o.rssBudgetS * expectedHz) / 1000) * 1000);
    const count = Math.min(wanted, fits);
    const c = await oneController(path, mode, tmpDir, `rss-${count}`, { targets: 1, rateHz: rssRate, count });
    const p = c.report?.process;
    const cpu = cpuOf(c);
    const sent = c.report?.targets[0]?.sent;
    const point: RssPoint = { probes: sent ?? count, rateHz: rssRate, from: p ? 'report process block' : 'last /proc VmRSS sample' };
    if (count < wanted) point.note = `${wanted} probes would take > ${o.rssBudgetS} s at ~${expectedHz.toFixed(0)} Hz: ran ${count}`;
    const rss = p?.rssBytes ?? c.sample?.rssBytes;
    if (rss !== undefined) point.rssBytes = rss;
    if (cpu.cpuS !== undefined) point.cpuS = cpu.cpuS;
    if (!c.report) point.note = `no report (exit ${c.finished.code ?? c.finished.signal})`;
    res.rss.push(point);
    o.log(`  ${count} probes at ${rssRate} Hz: RSS ${fixed((point.rssBytes ?? NaN) / 2 ** 20, 1)} MiB, CPU ${fixed(point.cpuS, 2)} s`);
  }
  const [small, big] = res.rss;
  if (small?.rssBytes !== undefined && big?.rssBytes !== undefined) res.rssGrowthBytes = big.rssBytes - small.rssBytes;
  // CPU per 1000 probes from the long run: start-up cost amortised over the most probes
  if (big?.cpuS !== undefined && small?.cpuS !== undefined && big.probes > small.probes) {
    res.cpuMsPer1k = (1e6 * (big.cpuS - small.cpuS)) / (big.probes - small.probes);
  }
  return res;
}

export function renderCapacity(c: CapacityResult): string {
  const steps = formatTable(
    ['targets × rate', 'sent', 'achieved Hz', 'loss %', 'missed slots %', 'CPU ms/1k', ''],
    c.steps.map((s) => [`${s.targets} × ${s.rateHz}`, String(s.sent), fixed(s.achievedHz, 0), fixed(s.lossPct, 3), fixed(s.missedPct, 3), fixed(s.cpuMsPer1k, 2), s.pass ? 'ok' : `stop${s.note ? `: ${s.note.split('\n')[0]}` : ''}`]),
    [0, 6],
  );
  const rss = formatTable(
    ['probes', 'rate Hz', 'RSS MiB', 'CPU s', 'from'],
    c.rss.map((r) => [String(r.probes), String(r.rateHz), fixed((r.rssBytes ?? NaN) / 2 ** 20, 1), fixed(r.cpuS, 2), r.note ? `${r.from}; ${r.note}` : r.from]),
    [4],
  );
  const growth = c.rssGrowthBytes;
  const [small, big] = c.rss;
  const lines = [
    steps,
    `highest sustained aggregate rate (< ${LIMIT_PCT}% loss and missed slots): ${c.sustainedHz !== undefined ? `${c.sustainedHz} Hz` : 'none of the steps'}` +
      (c.steps.at(-1)?.pass ? ' (the top of the ladder: the real limit is higher)' : '') +
      (c.sustainedHz === undefined && c.steps[0] ? ` (achieved ${fixed(c.steps[0].achievedHz, 0)} Hz at the first step)` : ''),
    '',
    rss,
    `CPU per 1000 probes (difference of the two runs, start-up excluded): ${fixed(c.cpuMsPer1k, 2)} ms`,
    growth === undefined
      ? 'RSS growth: not measured'
      : `RSS growth ${small?.probes ?? '?'} → ${big?.probes ?? '?'} probes: ${fixed(growth / 1e6, 2)} MB  ` +
        ((big?.probes ?? 0) >= 1e6
          ? `[${growth < 5e6 ? ' met ' : 'MISSED'}] target < 5 MB from 10^4 to 10^6 probes`
          : '[ n/a ] the target (< 5 MB) is for 10^4 → 10^6 probes; this run stopped short of 10^6'),
  ];
  return lines.join('\n');
}
