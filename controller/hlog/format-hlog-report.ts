import { basename } from 'node:path';
import { PERCENTILE_KEYS, type LatencySummary } from '../../shared/histogram/latency-histogram.js';
import { formatNs } from '../../shared/report/format-ns.js';
import type { HlogReport } from './hlog-report.js';

const ROWS: [string, (s: LatencySummary) => number | null][] = [
  ['min', (s) => s.min],
  ...PERCENTILE_KEYS.map(([key, p]): [string, (s: LatencySummary) => number | null] => [`p${p}`, (s) => s[key]]),
  ['max', (s) => s.max],
  ['mean', (s) => s.mean],
];

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
const tagTitle = (tag: string): string => (tag === '' ? '(no tag)' : tag);

function formatTarget(report: HlogReport, target: string): string[] {
  const series = report.series.filter((s) => s.target === target);
  const first = series.map((s) => s.first).sort()[0] ?? '';
  const last = series.map((s) => s.last).sort().at(-1) ?? '';
  const lines = [`target ${target}: ${first} .. ${last}`];
  const width = Math.max(14, ...series.map((s) => tagTitle(s.tag).length + 2));
  lines.push(`  ${''.padEnd(10)}${series.map((s) => tagTitle(s.tag).padStart(width)).join('')}`);
  for (const [label, pick] of ROWS) {
    lines.push(`  ${label.padEnd(10)}${series.map((s) => formatNs(pick(s.values_ns)).padStart(width)).join('')}`);
  }
  lines.push(`  ${'samples'.padEnd(10)}${series.map((s) => String(s.values_ns.count).padStart(width)).join('')}`);
  lines.push(`  ${'intervals'.padEnd(10)}${series.map((s) => String(s.intervals).padStart(width)).join('')}`);
  const clamped = series.filter((s) => s.clamped_high > 0);
  for (const s of clamped) lines.push(`  ${s.tag}: ${s.clamped_high} values above the first interval's range, counted at its top`);
  const gaps = report.gaps_recorded.filter((gap) => gap.target === target);
  // a restart the writer recorded explains the hole it left; list only the others
  const holes = report.holes.filter((hole) => hole.target === target
    && !gaps.some((gap) => gap.from <= hole.from && gap.to >= hole.to));
  lines.push(`  gaps      ${gaps.length === 0 ? 'no restart recorded' : `${plural(gaps.length, 'restart')} recorded`}; `
    + `${holes.length === 0 ? `no ${gaps.length === 0 ? '' : 'other '}time without intervals` : `${plural(holes.length, 'other span')} without intervals`}`);
  for (const gap of gaps) lines.push(`    restart   ${gap.from} .. ${gap.to} (${gap.span_s.toFixed(3)} s)`);
  for (const hole of holes) lines.push(`    no data   ${hole.from} .. ${hole.to} (${hole.span_s.toFixed(3)} s)`);
  return lines;
}

/** The text form of `rtprobe report`. */
export function formatHlogReport(report: HlogReport): string {
  const range = report.from === null && report.to === null ? 'all times' : `${report.from ?? 'start'} .. ${report.to ?? 'end'}`;
  const tags = report.tags === null ? 'all tags' : `tags ${report.tags.join(', ')}`;
  const parts = [`rtprobe report: ${plural(report.files.length, 'file')}, ${range}, ${tags}`];
  const targets = [...new Set(report.series.map((s) => s.target))];
  for (const target of targets) parts.push(formatTarget(report, target).join('\n'));
  const lines = report.files.reduce((sum, file) => sum + file.lines, 0);
  const outOfRange = report.files.reduce((sum, file) => sum + file.out_of_range, 0);
  const otherTag = report.files.reduce((sum, file) => sum + file.other_tag, 0);
  const used = report.series.reduce((sum, s) => sum + s.intervals, 0);
  const tail = [`lines     ${lines} read, ${used} intervals used, ${outOfRange} outside the time range, ${otherTag} of other tags`
    + `${report.skipped_files.length > 0 ? `; ${plural(report.skipped_files.length, 'file')} not read (other targets, days outside the range)` : ''}`];
  const malformed = Object.entries(report.malformed).filter(([, n]) => n > 0);
  tail.push(`malformed ${malformed.length === 0 ? 'none' : malformed.map(([reason, n]) => `${reason} ${n}`).join(', ')}`);
  for (const problem of report.problems) tail.push(`  ${basename(problem.file)}:${problem.line} ${problem.reason}: ${problem.detail}`);
  for (const message of report.unreadable) tail.push(`unreadable ${message}`);
  parts.push(tail.join('\n'));
  return `${parts.join('\n\n')}\n`;
}
