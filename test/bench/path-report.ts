/** The text printed for one path: per-tool table, ratios, targets. */
import type { ToolSummary } from './aggregate.js';
import type { Ratio, TargetCheck } from './compare.js';
import { fixed, formatTable, us } from './format-table.js';
import type { RoundResult } from './tool-result.js';

const LABEL: Record<string, string> = {
  'rtprobe-kernel': 'rtprobe kernel',
  'rtprobe-user': 'rtprobe user',
  'rtprobe-icmp': 'rtprobe icmp',
  irtt: 'irtt',
  'irtt-own': 'irtt (own rtt)',
  sockperf: 'sockperf',
  ping: 'ping',
  fping: 'fping',
};

export function toolLabel(tool: string): string {
  return LABEL[tool] ?? tool;
}

export function renderToolTable(summaries: readonly ToolSummary[]): string {
  const header = ['tool', 'samples', 'rate Hz', 'p50 µs', 'p99 µs', 'p99.9 µs', 'max µs', 'send err p99', 'send err max', 'loss %', 'cli CPU ms/1k', 'stamped by'];
  const rows = summaries.map((s) => {
    if (!s.rtt) return [toolLabel(s.tool), '–', '–', '–', '–', '–', '–', '–', '–', '–', '–', s.notes[0]?.split('\n')[0] ?? 'not run'];
    return [
      toolLabel(s.tool),
      String(s.rtt.count),
      fixed(s.rateHz, 1),
      us(s.rtt.p50),
      us(s.rtt.p99),
      us(s.rtt.p99_9),
      us(s.rtt.max),
      us(s.sendError?.p99),
      us(s.sendError?.max),
      fixed(s.lossPct, 2),
      fixed(s.cpuMsPer1k, 1),
      s.stamps,
    ];
  });
  return formatTable(header, rows, [0, 11]);
}

export function renderRatios(rs: readonly Ratio[]): string {
  if (rs.length === 0) return '(no ratios: rtprobe kernel not measured)';
  const rows = rs.map((r) => [`${toolLabel(r.subject)} / ${toolLabel(r.peer)}`, fixed(r.p50, 2), fixed(r.p99, 2), fixed(r.p99_9, 2), fixed(r.max, 2)]);
  return formatTable(['ratio', 'p50', 'p99', 'p99.9', 'max'], rows);
}

export function renderTargets(ts: readonly TargetCheck[]): string {
  return ts
    .map((t) =>
      t.pass === undefined
        ? `  [ n/a ] ${t.target}: ${t.why ?? ''}`
        : `  [${t.pass ? ' met ' : 'MISSED'}] ${t.target}: ${us(t.actual)} µs vs limit ${us(t.limit)} µs`,
    )
    .join('\n');
}

/**
 * A user-space reflector adds its own wake-up to every RTT: show how long each one held
 * the probes (rtprobe agent T3 − T2; irtt server processing time; mean over rounds).
 */
export function renderReflectors(results: readonly RoundResult[]): string[] {
  const num = (r: RoundResult, k: string): number | undefined => {
    const v = r.extra?.[k];
    return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
  };
  const avg = (xs: (number | undefined)[]): number | undefined => {
    const ys = xs.filter((x): x is number => x !== undefined);
    return ys.length === 0 ? undefined : ys.reduce((a, b) => a + b, 0) / ys.length;
  };
  const lines: string[] = [];
  for (const tool of ['rtprobe-kernel', 'rtprobe-user'] as const) {
    const rs = results.filter((r) => r.ok && r.tool === tool);
    const p50 = avg(rs.map((r) => num(r, 'turnaround_p50_ns')));
    if (p50 === undefined) continue;
    const p99 = avg(rs.map((r) => num(r, 'turnaround_p99_ns')));
    const max = Math.max(...rs.map((r) => num(r, 'turnaround_max_ns') ?? -Infinity));
    lines.push(`  reflector turnaround, ${toolLabel(tool)} agent (T3−T2): p50 ${us(p50)} µs, p99 ${us(p99)} µs, max ${us(max)} µs`);
  }
  const irtt = avg(results.filter((r) => r.ok && r.tool === 'irtt').map((r) => num(r, 'server_processing_mean_ns')));
  if (irtt !== undefined) lines.push(`  reflector turnaround, irtt server processing: mean ${us(irtt)} µs`);
  return lines;
}
