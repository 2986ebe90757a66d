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

/** Counts of one side, or of the two sides apart. */
export interface ComparePair<T> {
  baseline: T;
  compared: T;
}

/** The rows of the detail tables: the tail that matters, without the 7 rows of the RTT table. */
export const DETAIL_ROWS = ['p50', 'p99', 'max'] as const;
type DetailKey = (typeof DETAIL_ROWS)[number];
type DetailRows = Record<DetailKey, CompareRow>;
type DetailValues = Record<DetailKey, number | null>;

/** What the agent saw of one target (--agent-ws), or why that is unknown; null without --agent-ws. */
export type CompareAgent = {
  complete: boolean;
  turnaround_ns: DetailValues;
  /** arrival jitter (IPDV) at the agent */
  ipdv_ns: DetailValues;
  loss_forward: number | null;
  loss_return: number | null;
} | { unknown: string } | null;

/** The sender's share: a starved sender delays probes and stretches every figure taken on its host. */
export interface CompareSender {
  missed_send_slots: ComparePair<number>;
  /** actual send − due time, ns */
  send_error: DetailRows;
  /** a line per side whose sender was starved: missed slots, or a send error p99 above the limit */
  warnings: string[];
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
  sender: CompareSender;
  /** RTT − turnaround per probe (UDP): the wire and the NICs, without the guest */
  network: DetailRows;
  agent: ComparePair<CompareAgent>;
  /** the agent's refusals per reason (`refused` of the run report), null where the report has none */
  refused: ComparePair<Record<string, number> | null>;
}

/** A send error p99 above this share of the period (or 100 µs, whichever is more) is a starved sender. */
export const STARVED_SEND_ERROR_SHARE = 0.1;
export const STARVED_SEND_ERROR_FLOOR_NS = 100_000;

/** compared / baseline to 6 significant digits; null where it means nothing (no or zero baseline). */
export function ratioOf(baseline: number | null, compared: number | null): number | null {
  if (baseline === null || compared === null || baseline === 0) return null;
  return Number((compared / baseline).toPrecision(6));
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

function rowsOf<K extends CompareRowKey>(keys: readonly K[], baseline: Partial<Record<K, number | null>> | null,
  compared: Partial<Record<K, number | null>> | null): Record<K, CompareRow> {
  const rows = {} as Record<K, CompareRow>;
  for (const key of keys) {
    const baselineNs = baseline?.[key] ?? null;
    const comparedNs = compared?.[key] ?? null;
    rows[key] = { baseline_ns: baselineNs, compared_ns: comparedNs, ratio: ratioOf(baselineNs, comparedNs) };
  }
  return rows;
}

const detailValues = (summary: LatencySummary): DetailValues => ({ p50: summary.p50, p99: summary.p99, max: summary.max });

/** The starved-sender line of one side, null when its sender kept the schedule. */
export function starvedSenderWarning(t: TargetReport, rateHz: number): string | null {
  const limitNs = Math.max(STARVED_SEND_ERROR_FLOOR_NS, (STARVED_SEND_ERROR_SHARE * 1e9) / rateHz);
  const p99 = t.send_error_ns.p99;
  const late = p99 !== null && p99 > limitNs;
  if (t.missed_send_slots === 0 && !late) return null;
  const slots = t.sent + t.missed_send_slots;
  return `WARNING: ${t.name}: the sender was starved: ${t.missed_send_slots} of ${slots} send slots missed `
    + `(${formatPercent(slots === 0 ? 0 : t.missed_send_slots / slots)}), send error p99 ${formatNs(p99)} `
    + `(limit ${formatNs(limitNs)}): the controller host was too busy to keep the schedule; its delays are in these figures, not only the path's`;
}

function agentOf(t: TargetReport): CompareAgent {
  if (t.agent_unknown) return { unknown: t.agent_unknown.reason };
  const agent = t.agent;
  if (!agent) return null;
  return {
    complete: agent.complete,
    turnaround_ns: detailValues(agent.turnaround_ns),
    ipdv_ns: detailValues(agent.ipdv_ns),
    loss_forward: t.loss_forward ?? null,
    loss_return: t.loss_return ?? null,
  };
}

/** The agent's figures of both sides side by side, with ratios. */
function agentRows(figure: 'turnaround_ns' | 'ipdv_ns', b: CompareAgent, c: CompareAgent): DetailRows {
  const values = (a: CompareAgent): DetailValues | null => (a !== null && 'complete' in a ? a[figure] : null);
  return rowsOf(DETAIL_ROWS, values(b), values(c));
}

/** `refused` is filled in by the controller when agents refuse probes; older reports lack it. */
function refusedOf(t: TargetReport): Record<string, number> | null {
  const refused = (t as TargetReport & { refused?: Record<string, number> }).refused;
  return refused && Object.keys(refused).length > 0 ? { ...refused } : null;
}

export function buildCompareBlock(report: RunReport): CompareBlock {
  const [b, c] = compareTargets(report);
  const rtt = rowsOf(COMPARE_ROWS.map(([key]) => key), b.rtt_ns, c.rtt_ns);
  const clocks = { baseline: clockOf(b), compared: clockOf(c) };
  const agent = { baseline: agentOf(b), compared: agentOf(c) };
  return {
    baseline: b.name,
    compared: c.name,
    ratio_of: `${c.name}/${b.name}`,
    rtt,
    loss: { baseline: lossOf(b), compared: lossOf(c) },
    worst: { baseline: b.worst, compared: c.worst },
    clocks: { ...clocks, same: JSON.stringify(clocks.baseline) === JSON.stringify(clocks.compared) },
    sender: {
      missed_send_slots: { baseline: b.missed_send_slots, compared: c.missed_send_slots },
      send_error: rowsOf(DETAIL_ROWS, b.send_error_ns, c.send_error_ns),
      warnings: [b, c].map((t) => starvedSenderWarning(t, report.rate_hz)).filter((line): line is string => line !== null),
    },
    network: rowsOf(DETAIL_ROWS, b.network_ns, c.network_ns),
    agent,
    refused: { baseline: refusedOf(b), compared: refusedOf(c) },
  };
}

/** One formatted row of a detail table (text and HTML show the same). */
export interface CompareDetailLine {
  label: string;
  baseline: string;
  compared: string;
  ratio: string;
}

export interface CompareDetailSection {
  title: string;
  lines: CompareDetailLine[];
}

function latencyLines(name: string, rows: DetailRows): CompareDetailLine[] {
  return DETAIL_ROWS.flatMap((key) => {
    const row = rows[key];
    if (row.baseline_ns === null && row.compared_ns === null) return [];
    const label = COMPARE_ROWS.find(([k]) => k === key)?.[1] ?? key;
    return [{ label: `${name} ${label}`, baseline: formatNs(row.baseline_ns), compared: formatNs(row.compared_ns), ratio: formatRatio(row.ratio) }];
  });
}

function formatRefused(refused: Record<string, number> | null): string {
  if (refused === null) return 'none';
  return Object.entries(refused).map(([reason, n]) => `${reason} ${n}`).join(', ');
}

/**
 * Everything `run` shows beside the RTT: the sender (missed slots, send error), the network
 * part, the agent's breakdown, refusals. Sections without anything to say are left out.
 */
export function compareDetailSections(block: CompareBlock): CompareDetailSection[] {
  const sections: CompareDetailSection[] = [];
  const { sender } = block;
  sections.push({
    title: 'sender (actual send − due time; the controller host, not the path)',
    lines: [
      { label: 'missed slots', baseline: String(sender.missed_send_slots.baseline), compared: String(sender.missed_send_slots.compared), ratio: '' },
      ...latencyLines('send err', sender.send_error),
    ],
  });
  const network = latencyLines('network', block.network);
  if (network.length > 0) sections.push({ title: 'network (RTT − agent turnaround, per probe)', lines: network });
  const { baseline: ab, compared: ac } = block.agent;
  if (ab !== null || ac !== null) {
    const state = (a: CompareAgent): string => (a === null ? 'not asked' : 'unknown' in a ? 'UNKNOWN' : a.complete ? 'complete' : 'INCOMPLETE');
    const loss = (a: CompareAgent, key: 'loss_forward' | 'loss_return'): string => (a !== null && 'complete' in a && a[key] !== null ? String(a[key]) : '-');
    sections.push({
      title: 'agent (--agent-ws: what the guest saw)',
      lines: [
        { label: 'stream', baseline: state(ab), compared: state(ac), ratio: '' },
        ...latencyLines('guest turn', agentRows('turnaround_ns', ab, ac)),
        ...latencyLines('arrival jit', agentRows('ipdv_ns', ab, ac)),
        { label: 'lost fwd', baseline: loss(ab, 'loss_forward'), compared: loss(ac, 'loss_forward'), ratio: '' },
        { label: 'lost return', baseline: loss(ab, 'loss_return'), compared: loss(ac, 'loss_return'), ratio: '' },
      ],
    });
  }
  if (block.refused.baseline !== null || block.refused.compared !== null) {
    sections.push({
      title: 'refused by the agent (not loss: the agent answered no)',
      lines: [{ label: 'refused', baseline: formatRefused(block.refused.baseline), compared: formatRefused(block.refused.compared), ratio: '' }],
    });
  }
  return sections;
}

/** Why an agent column is unknown, per side, for a note under the table. */
export function compareAgentNotes(block: CompareBlock): string[] {
  return (['baseline', 'compared'] as const).flatMap((side) => {
    const a = block.agent[side];
    return a !== null && 'unknown' in a ? [`${block[side]}: agent breakdown unknown: ${a.unknown}`] : [];
  });
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
  const details = compareDetailSections(block);
  const labelWidth = Math.max(10, ...details.flatMap((section) => section.lines.map((line) => line.label.length + 2)));
  const width = Math.max(14, block.baseline.length + 2, block.compared.length + 2,
    ...details.flatMap((section) => section.lines.map((line) => Math.max(line.baseline.length, line.compared.length) + 2)));
  const row = (label: string, a: string, b: string, ratio = ''): string =>
    `  ${label.padEnd(labelWidth)}${a.padStart(width)}${b.padStart(width)}${ratio.padStart(10)}`.trimEnd();
  const lines = [
    `rtprobe compare ${report.started}: ${report.duration_s.toFixed(1)} s at ${report.rate_hz} Hz, ${report.size_bytes} B probes, ` +
      `late after ${formatNs(report.timeout_ns)}, lost after ${formatNs(report.loss_after_ns)}`,
    ...block.sender.warnings,
    `  RTT, both targets on one interleaved schedule; ratio = ${block.ratio_of}`,
    row('', block.baseline, block.compared, 'ratio'),
  ];
  for (const [key, label] of COMPARE_ROWS) {
    const r = block.rtt[key];
    lines.push(row(label, formatNs(r.baseline_ns), formatNs(r.compared_ns), formatRatio(r.ratio)));
  }
  for (const section of details) {
    lines.push(`  ${section.title}`);
    for (const line of section.lines) lines.push(row(line.label, line.baseline, line.compared, line.ratio));
  }
  for (const note of compareAgentNotes(block)) lines.push(`  ${note}`);
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
