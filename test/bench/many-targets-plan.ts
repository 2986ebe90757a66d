/**
 * The pure side of the many-targets row (issue 15): which loopback address each target gets,
 * the `--targets-file` that lists them, what one run's JSON report adds up to, the goal it is
 * judged against, and the RSS slope per target over the steps.
 */
import type { RtprobeTarget } from './rtprobe-report.js';
import { median } from './stats.js';

/** Addresses per third octet: 127.0.X.1–250, so that every target has its own address. */
const PER_OCTET = 250;
/** 127.0.100.1 upwards: clear of 127.0.0.x (the other rows) and 127.0.1.x (the integration test). */
const FIRST_OCTET = 100;

/**
 * The goal of issue 15 item 4, in the report's units. Its send error p99, like its loss and
 * missed slots, is over all the run's probes (JSON all_targets); each target's own p99 is
 * shown beside it (worst, median, how many within).
 */
export const MANY_TARGETS_GOAL = { missedPct: 0.1, lossPct: 0.1, sendErrorP99Ns: 100_000 } as const;

/** Target i (0-based) → 127.0.X.Y. */
export function targetAddress(i: number): string {
  const octet = FIRST_OCTET + Math.floor(i / PER_OCTET);
  if (!Number.isInteger(i) || i < 0 || octet > 255) throw new Error(`target ${i}: outside 127.0.${FIRST_OCTET}.1–127.0.255.${PER_OCTET}`);
  return `127.0.${octet}.${1 + (i % PER_OCTET)}`;
}

/** `NAME=127.0.X.Y:PORT` a line, `t1` … `tN`, with a comment line first. */
export function targetsFileText(n: number, port: number): string {
  const lines = [`# ${n} loopback addresses, one agent on 0.0.0.0:${port}`];
  for (let i = 0; i < n; i++) lines.push(`t${i + 1}=${targetAddress(i)}:${port}`);
  return `${lines.join('\n')}\n`;
}

export interface ManyTargetsFigures {
  /** targets in the report */
  targets: number;
  /** targets that got no reply at all */
  silent: number;
  sent: number;
  received: number;
  lost: number;
  missedSlots: number;
  /** missed send slots / (sent + missed) */
  missedPct: number;
  /** lost / sent */
  lossPct: number;
  /** the send error p99 over all probes (ns): what the goal judges */
  sendErrorP99AllNs?: number;
  /** the worst target's send error p99 and the median target's (ns) */
  sendErrorP99WorstNs?: number;
  sendErrorP99MedianNs?: number;
  /** targets whose send error p99 is within the goal's: how far the tail reaches, not just its worst */
  sendErrorP99WithinGoal?: number;
}

/** One run's figures; `allSendError` is the report's all_targets.send_error_ns (absent with one target: its own is all). */
export function figuresOf(targets: readonly RtprobeTarget[], allSendError?: { p99: number }): ManyTargetsFigures {
  const sum = (f: (t: RtprobeTarget) => number): number => targets.reduce((a, t) => a + f(t), 0);
  const sent = sum((t) => t.sent);
  const received = sum((t) => t.received);
  const lost = sum((t) => t.lost);
  const missedSlots = sum((t) => t.missedSendSlots);
  const f: ManyTargetsFigures = {
    targets: targets.length,
    silent: targets.filter((t) => t.received === 0).length,
    sent,
    received,
    lost,
    missedSlots,
    missedPct: sent + missedSlots > 0 ? (100 * missedSlots) / (sent + missedSlots) : NaN,
    lossPct: sent > 0 ? (100 * lost) / sent : NaN,
  };
  const all = allSendError?.p99 ?? (targets.length === 1 ? targets[0]?.sendErrorNs?.p99 : undefined);
  if (all !== undefined && Number.isFinite(all)) f.sendErrorP99AllNs = all;
  const p99s = targets.map((t) => t.sendErrorNs?.p99 ?? NaN).filter(Number.isFinite);
  if (p99s.length > 0) {
    f.sendErrorP99WorstNs = Math.max(...p99s);
    const m = median(p99s);
    if (m !== undefined) f.sendErrorP99MedianNs = m;
    f.sendErrorP99WithinGoal = p99s.filter((p) => p <= MANY_TARGETS_GOAL.sendErrorP99Ns).length;
  }
  return f;
}

/** What falls short of the goal, in words; empty when every part is met. */
export function goalShortfalls(f: ManyTargetsFigures, expectedTargets: number): string[] {
  const out: string[] = [];
  if (f.targets !== expectedTargets) out.push(`${f.targets} of ${expectedTargets} targets reported`);
  if (f.silent > 0) out.push(`${f.silent} target(s) never answered`);
  if (!(f.missedPct < MANY_TARGETS_GOAL.missedPct)) out.push(`missed slots ${Number.isFinite(f.missedPct) ? f.missedPct.toFixed(3) : '–'} %`);
  if (!(f.lossPct < MANY_TARGETS_GOAL.lossPct)) out.push(`loss ${Number.isFinite(f.lossPct) ? f.lossPct.toFixed(3) : '–'} %`);
  const se = f.sendErrorP99AllNs;
  if (se === undefined || !(se <= MANY_TARGETS_GOAL.sendErrorP99Ns)) {
    out.push(se === undefined ? 'no send error figures' : `send error p99 ${(se / 1000).toFixed(0)} µs`);
  }
  return out;
}

/** Least-squares slope of y over x; undefined with fewer than two distinct x. */
export function slope(points: readonly { x: number; y: number }[]): number | undefined {
  const ps = points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  if (new Set(ps.map((p) => p.x)).size < 2) return undefined;
  const mx = ps.reduce((a, p) => a + p.x, 0) / ps.length;
  const my = ps.reduce((a, p) => a + p.y, 0) / ps.length;
  const sxy = ps.reduce((a, p) => a + (p.x - mx) * (p.y - my), 0);
  const sxx = ps.reduce((a, p) => a + (p.x - mx) ** 2, 0);
  return sxy / sxx;
}

/**
 * `rtprobe agent: received N, reflected M, …, sessions ended by their controller E`, the line
 * an agent prints when it stops; `received` counts the datagrams but the controllers'
 * session-ends (one per target and run), so that it compares with the probes sent.
 */
export function agentCounters(stdout: string): { received: number; reflected: number } | undefined {
  const m = /^rtprobe agent: received (\d+), reflected (\d+).*?(?:, sessions ended by their controller (\d+))?$/m.exec(stdout);
  return m ? { received: Number(m[1]) - Number(m[3] ?? 0), reflected: Number(m[2]) } : undefined;
}
