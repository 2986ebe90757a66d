import { PERCENTILE_KEYS, type LatencySummary, type PercentileKey } from '../../shared/histogram/latency-histogram.js';
import { formatNs, formatPercent } from '../../shared/report/format-ns.js';
import type { StampSource } from '../../shared/transport/probe-transport.js';
import type { RunReport, TargetReport } from './run-report.js';

/** The rows of the side-by-side table: JSON key and the label people read. */
export const COMPARE_ROWS: readonly (readonly [CompareRowKey, string])[] = [
  ['min', 'min'],
  ...PERCENTILE_KEYS.map(([key, p]) => [key, `p${p}`] as const),
  ['max', 'max'],
  ['mean', 'mean'],
];

export type CompareRowKey = 'min' | PercentileKey | 'max' | 'mean';

/** One row of the table, ns; `ratio` = compared / baseline, null when the baseline is 0 or missing. */
export interface CompareRow {
  baseline_ns: number | null;
  compared_ns: number | null;
  ratio: number | null;
}

export interface CompareLoss {
  sent: number;
  received: number;
  lost: number;
  late: number;
  loss_ratio: number;
}

export interface CompareClock {
  tx: StampSource;
  rx: StampSource;
  rtt_clock: string;
}

/** The `compare` block of the JSON report: the first target is the baseline (passthrough). */
export interface CompareBlock {
  /** name of the first target: the baseline, e.g. passthrough */
  baseline: string;
  /** name of the second target: the one compared, e.g. emulated */
  compared: string;
  /** what every ratio divides, in words: "emulated/passthrough" */
  ratio_of: string;
  rtt: Record<CompareRowKey, CompareRow>;
  loss: { baseline: CompareLoss; compared: CompareLoss };
  worst: { baseline: TargetReport['worst']; compared: TargetReport['worst'] };
  /** who stamped each side's RTTs; `same` false means the two columns come from different clocks */
  clocks: { baseline: CompareClock; compared: CompareClock; same: boolean };
}

/** compared / baseline to 6 significant digits; null where it means nothing (no or zero baseline). */
export function ratioOf(baseline: number | null, compared: number | null): number | null {
  if (baseline === null || compared === null || baseline === 0) return null;
  return Number((compared / baseline).toPrecision(6));
}

function pick(summary: LatencySummary, key: CompareRowKey): number | null {
  return summary[key];
}

function lossOf(t: TargetReport): CompareLoss {
  return { sent: t.sent, received: t.received, lost: t.lost, late: t.late, loss_ratio: t.loss_ratio };
}

function clockOf(t: TargetReport): CompareClock {
  return { tx: t.timestamps.tx, rx: t.timestamps.rx, rtt_clock: t.timestamps.rtt_clock };
}

/** The two targets of a compare run; anything else is a caller's bug (the command checks first). */
export function compareTargets(report: RunReport): [TargetReport, TargetReport] {
  const [baseline, compared] = report.targets;
  if (report.targets.length !== 2 || !baseline || !compared) {
    throw new RangeError(`compare needs exactly two targets, the report has ${report.targets.length}`);
  }
  return [baseline, compared];
}

export function buildCompareBlock(report: RunReport): CompareBlock {
  const [b, c] = compareTargets(report);
  const rtt = {} as Record<CompareRowKey, CompareRow>;
  for (const [key] of COMPARE_ROWS) {
    const baselineNs = pick(b.rtt_ns, key);
    const comparedNs = pick(c.rtt_ns, key);
    rtt[key] = { baseline_ns: baselineNs, compared_ns: comparedNs, ratio: ratioOf(baselineNs, comparedNs) };
  }
  const clocks = { baseline: clockOf(b), compared: clockOf(c) };
  return {
    baseline: b.name,
    compared: c.name,
    ratio_of: `${c.name}/${b.name}`,
    rtt,
    loss: { baseline: lossOf(b), compared: lossOf(c) },
    worst: { baseline: b.worst, compared: c.worst },
    clocks: { ...clocks, same: JSON.stringify(clocks.baseline) === JSON.stringify(clocks.compared) },
  };
}

/** "3.02x"; fewer decimals as the ratio grows (a 300x ratio needs no hundredths). */
export function formatRatio(ratio: number | null): string {
  if (ratio === null) return '-';
  const decimals = ratio < 10 ? 2 : ratio < 100 ? 1 : 0;
  return `${ratio.toFixed(decimals)}x`;
}

/** "seq 65 3984.4 µs 00:20:18.035": the date is in the header. */
function formatWorst(w: TargetReport['worst'][number] | undefined): string {
  if (!w) return '';
  return `seq ${String(w.seq).padEnd(8)} ${formatNs(w.rtt_ns).padStart(12)}  ${w.at.slice(11, 23)}`;
}

function formatClock(clock: CompareClock): string {
  return `${clock.tx} TX/${clock.rx} RX stamps (${clock.rtt_clock})`;
}

/** The side-by-side text report: table with ratios, loss, worst events, clocks. */
export function formatCompareText(report: RunReport): string {
  const block = buildCompareBlock(report);
  const width = Math.max(14, block.baseline.length + 2, block.compared.length + 2);
  const row = (label: string, a: string, b: string, ratio = ''): string =>
    `  ${label.padEnd(10)}${a.padStart(width)}${b.padStart(width)}${ratio.padStart(10)}`.trimEnd();
  const lines = [
    `rtprobe compare ${report.started}: ${report.duration_s.toFixed(1)} s at ${report.rate_hz} Hz, ${report.size_bytes} B probes, ` +
      `late after ${formatNs(report.timeout_ns)}, lost after ${formatNs(report.loss_after_ns)}`,
    `  RTT, both targets on one interleaved schedule; ratio = ${block.ratio_of}`,
    row('', block.baseline, block.compared, 'ratio'),
  ];
  for (const [key, label] of COMPARE_ROWS) {
    const r = block.rtt[key];
    lines.push(row(label, formatNs(r.baseline_ns), formatNs(r.compared_ns), formatRatio(r.ratio)));
  }
  const { baseline: lb, compared: lc } = block.loss;
  lines.push('  loss');
  for (const key of ['sent', 'received', 'lost', 'late'] as const) lines.push(row(key, String(lb[key]), String(lc[key])));
  lines.push(row('loss ratio', formatPercent(lb.loss_ratio), formatPercent(lc.loss_ratio)));
  const worstRows = Math.max(block.worst.baseline.length, block.worst.compared.length);
  if (worstRows > 0) {
    const side = 38;
    lines.push('  worst round trips');
    lines.push(`  ${''.padEnd(10)}${block.baseline.padEnd(side)}  ${block.compared}`);
    for (let i = 0; i < worstRows; i++) {
      const left = formatWorst(block.worst.baseline[i]).padEnd(side);
      lines.push(`    ${String(i + 1).padStart(2)}.${' '.repeat(5)}${left}  ${formatWorst(block.worst.compared[i])}`.trimEnd());
    }
  }
  if (block.clocks.same) {
    lines.push(`  clocks   both: RTT from ${formatClock(block.clocks.baseline)}`);
  } else {
    lines.push(`  clocks   ${block.baseline}: RTT from ${formatClock(block.clocks.baseline)}`);
    lines.push(`           ${block.compared}: RTT from ${formatClock(block.clocks.compared)} (NOT the same clock: compare with care)`);
  }
  return `${lines.join('\n')}\n`;
}
