import type { LatencySummary } from '../../shared/histogram/latency-histogram.js';
import type { HlogMalformedReason } from './hlog-line.js';
import type { HlogMerger } from './hlog-merge.js';
import { emptyMalformed, type HlogProblem } from './hlog-parser.js';
import type { HlogReadResult } from './hlog-reader.js';
import type { Provenance } from '../report/provenance.js';

/** What `rtprobe report` says about a set of interval logs (the --json form; times ISO, values ns). */
export interface HlogReport {
  version: 1;
  tool: 'rtprobe';
  kind: 'hlog-report';
  from: string | null;
  to: string | null;
  tags: string[] | null;
  series: {
    target: string;
    tag: string;
    intervals: number;
    first: string;
    last: string;
    span_s: number;
    values_ns: LatencySummary;
    /** values beyond the first interval's range (a foreign log), counted at its top */
    clamped_high: number;
  }[];
  /**
   * per target, the merged summaries under the names the run JSON gives them (rtt_ns,
   * turnaround_ns, send_error_ns; ipdv_ns as the agent's): one vocabulary for both reports
   */
  targets: ({ name: string; first: string; last: string } & Partial<Record<SummaryName, LatencySummary>>)[];
  /** spans of a target's time no interval covers (downtime, or a file not given) */
  holes: { target: string; from: string; to: string; span_s: number }[];
  /** gaps the writer recorded on resume */
  gaps_recorded: { target: string; file: string; from: string; to: string; span_s: number }[];
  files: { file: string; target: string; lines: number; intervals: number; out_of_range: number; other_tag: number; tags: string[] }[];
  malformed: Record<HlogMalformedReason, number>;
  /** the first malformed lines of each file, with line numbers */
  problems: HlogProblem[];
  skipped_files: { file: string; reason: string }[];
  unreadable: string[];
  /** the soaks that wrote the logs, where their directory says (soak --hlog keeps rtprobe-provenance.json) */
  provenance?: Provenance[];
}

/** The hlog tags soak --hlog writes, and the run JSON's name of each. */
const SUMMARY_OF_TAG = { rtt: 'rtt_ns', turnaround: 'turnaround_ns', send_error: 'send_error_ns', ipdv: 'ipdv_ns' } as const;
type SummaryName = (typeof SUMMARY_OF_TAG)[keyof typeof SUMMARY_OF_TAG];

const iso = (ms: number): string => new Date(ms).toISOString();

/** The series of the known tags, grouped per target (other tags stay in `series` only). */
function targetSummaries(series: HlogReport['series']): HlogReport['targets'] {
  const byTarget = new Map<string, HlogReport['targets'][number]>();
  for (const s of series) {
    const name = (SUMMARY_OF_TAG as Record<string, SummaryName | undefined>)[s.tag];
    if (name === undefined) continue;
    const entry = byTarget.get(s.target) ?? { name: s.target, first: s.first, last: s.last };
    if (s.first < entry.first) entry.first = s.first;
    if (s.last > entry.last) entry.last = s.last;
    entry[name] = s.values_ns;
    byTarget.set(s.target, entry);
  }
  return [...byTarget.values()];
}
const seconds = (ms: number): number => Math.round(ms) / 1000;

export function buildHlogReport(merger: HlogMerger, read: HlogReadResult,
  selection: { fromMs: number | null; toMs: number | null; tags: string[] | null }): HlogReport {
  const malformed = emptyMalformed();
  for (const file of read.files) {
    for (const [reason, count] of Object.entries(file.malformed)) malformed[reason as HlogMalformedReason] += count;
  }
  const series = merger.all().map((s) => ({
    target: s.target, tag: s.tag, intervals: s.intervals, first: iso(s.firstMs), last: iso(s.lastEndMs),
    span_s: seconds(s.lastEndMs - s.firstMs), values_ns: s.summary(), clamped_high: s.clampedHigh,
  }));
  const holes = [...merger.coverage.entries()].sort(([a], [b]) => a.localeCompare(b)).flatMap(([target, coverage]) =>
    coverage.holes().map((hole) => ({ target, from: iso(hole.fromMs), to: iso(hole.toMs), span_s: seconds(hole.toMs - hole.fromMs) })));
  const inRange = (ms: number): boolean => (selection.fromMs === null || ms >= selection.fromMs) && (selection.toMs === null || ms < selection.toMs);
  const gaps = read.files.flatMap((file) => file.gaps.filter((gap) => inRange(gap.toMs) || inRange(gap.fromMs)).map((gap) => ({
    target: file.target, file: file.file, from: iso(gap.fromMs), to: iso(gap.toMs), span_s: seconds(gap.toMs - gap.fromMs),
  })));
  return {
    version: 1, tool: 'rtprobe', kind: 'hlog-report',
    from: selection.fromMs === null ? null : iso(selection.fromMs),
    to: selection.toMs === null ? null : iso(selection.toMs),
    tags: selection.tags,
    series, targets: targetSummaries(series), holes, gaps_recorded: gaps,
    files: read.files.map((file) => ({
      file: file.file, target: file.target, lines: file.lines, intervals: file.intervals,
      out_of_range: file.outOfRange, other_tag: file.otherTag, tags: file.tagsSeen,
    })),
    malformed,
    problems: read.files.flatMap((file) => file.problems),
    skipped_files: read.skippedFiles,
    unreadable: read.unreadable,
  };
}
