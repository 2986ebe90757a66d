import type { JsHistogram } from 'hdr-histogram-js';
import type { HlogReadCounts } from './hlog-counts.js';
import { decodeCompressedHistogram } from '../../shared/histogram/histogram-codec.js';
import { HLOG_MAX_UNIT_RATIO } from './hlog-format.js';
import { HLOG_MALFORMED_REASONS, parseHlogLine, type HlogMalformedReason } from './hlog-line.js';

/** One interval of a log: epoch ms, the max from the line (ns, as exact as its writer wrote it), its histogram. */
export interface HlogInterval {
  tag: string;
  startMs: number;
  lengthMs: number;
  maxNs: number;
  histogram: JsHistogram;
}

/** An interval as read, with where it came from. */
export interface HlogReadInterval extends HlogInterval {
  target: string;
  file: string;
  line: number;
}

/** Which intervals to hand on: start in [fromMs, toMs), tag in tags, file of a target in targets; null = any. */
export interface HlogFilter {
  fromMs: number | null;
  toMs: number | null;
  tags: ReadonlySet<string> | null;
  /** applied per file by the reader (a file holds one target) */
  targets?: ReadonlySet<string> | null;
}

export const NO_FILTER: HlogFilter = { fromMs: null, toMs: null, tags: null, targets: null };

export interface HlogProblem { file: string; line: number; reason: HlogMalformedReason; detail: string }
export interface HlogGap { fromMs: number; toMs: number }

/** What reading one file found, beside the intervals handed on. */
export interface HlogFileSummary {
  file: string;
  target: string;
  version: string | null;
  startMs: number | null;
  baseMs: number | null;
  lines: number;
  /** intervals handed on */
  intervals: number;
  /** rtprobe-interval counts lines handed on (in the time range) */
  counts: number;
  /** well-formed intervals outside --from/--to, or of another tag */
  outOfRange: number;
  otherTag: number;
  tagsSeen: string[];
  gaps: HlogGap[];
  malformed: Record<HlogMalformedReason, number>;
  /** the first MAX_PROBLEMS malformed lines with their line numbers */
  problems: HlogProblem[];
}

export const MAX_PROBLEMS = 20;
/** Java: a first timestamp over a year before StartTime means timestamps are relative to it. */
const YEAR_MS = 365 * 24 * 3600 * 1000;

export function emptyMalformed(): Record<HlogMalformedReason, number> {
  return Object.fromEntries(HLOG_MALFORMED_REASONS.map((reason) => [reason, 0])) as Record<HlogMalformedReason, number>;
}

/**
 * Reads a log line by line (pure: the I/O shell feeds it), with the time rules of Java's
 * HistogramLogReader: starts are relative to BaseTime when there is one; without one they are
 * absolute, unless the first lies over a year before StartTime (then relative to StartTime).
 */
export class HlogParser {
  readonly summary: HlogFileSummary;
  private baseMs: number | null = null;
  private readonly tags = new Set<string>();

  constructor(file: string, target: string, private readonly filter: HlogFilter,
    private readonly onInterval: (interval: HlogReadInterval) => void,
    private readonly onCounts: (counts: HlogReadCounts) => void = () => undefined) {
    this.summary = {
      file, target, version: null, startMs: null, baseMs: null, lines: 0, intervals: 0, counts: 0, outOfRange: 0, otherTag: 0,
      tagsSeen: [], gaps: [], malformed: emptyMalformed(), problems: [],
    };
  }

  private problem(line: number, reason: HlogMalformedReason, detail: string): void {
    this.summary.malformed[reason]++;
    if (this.summary.problems.length < MAX_PROBLEMS) this.summary.problems.push({ file: this.summary.file, line, reason, detail });
  }

  /** One complete (newline-terminated) line, numbered from 1. */
  line(text: string, lineNumber: number): void {
    this.summary.lines = lineNumber;
    const parsed = parseHlogLine(text);
    switch (parsed.kind) {
      case 'malformed': this.problem(lineNumber, parsed.reason, parsed.detail); return;
      case 'version': this.summary.version = parsed.version; return;
      case 'start-time': this.summary.startMs = parsed.epochMs; return;
      case 'base-time': this.baseMs = this.summary.baseMs = parsed.epochMs; return;
      case 'gap': this.summary.gaps.push({ fromMs: parsed.fromMs, toMs: parsed.toMs }); return;
      case 'counts': {
        const { fromMs, toMs } = this.filter;
        const startMs = parsed.counts.startMs;
        if ((fromMs !== null && startMs < fromMs) || (toMs !== null && startMs >= toMs)) return;
        this.summary.counts++;
        this.onCounts({ ...parsed.counts, target: this.summary.target, file: this.summary.file, line: lineNumber });
        return;
      }
      case 'interval': break;
      default: return;
    }
    if (this.baseMs === null) {
      const start = this.summary.startMs;
      this.baseMs = start !== null && parsed.startS * 1000 < start - YEAR_MS ? start : 0;
    }
    const startMs = this.baseMs + parsed.startS * 1000;
    this.tags.add(parsed.tag);
    const { fromMs, toMs, tags } = this.filter;
    if (tags !== null && !tags.has(parsed.tag)) { this.summary.otherTag++; return; }
    if ((fromMs !== null && startMs < fromMs) || (toMs !== null && startMs >= toMs)) { this.summary.outOfRange++; return; }
    const decoded = decodeCompressedHistogram(parsed.payload);
    if (!decoded.ok) { this.problem(lineNumber, 'bad-payload', decoded.reason); return; }
    this.summary.intervals++;
    this.onInterval({
      tag: parsed.tag, startMs, lengthMs: parsed.lengthS * 1000, maxNs: Math.round(parsed.maxMs * HLOG_MAX_UNIT_RATIO),
      histogram: decoded.histogram, target: this.summary.target, file: this.summary.file, line: lineNumber,
    });
  }

  /**
   * The end of the input. A last line without its newline was cut by a crash mid-write: it is
   * counted, never used (even when it happens to parse).
   */
  finish(tornTail: string, lineNumber: number): HlogFileSummary {
    if (tornTail.length > 0) {
      this.summary.lines = lineNumber;
      this.problem(lineNumber, 'torn-line', `${tornTail.length} bytes without a newline at the end`);
    }
    this.summary.tagsSeen = [...this.tags].sort();
    return this.summary;
  }
}

/** Parses a whole text (tests, small logs). */
export function parseHlogText(text: string, filter: HlogFilter = NO_FILTER, file = '-', target = '-'):
  { summary: HlogFileSummary; intervals: HlogReadInterval[]; counts: HlogReadCounts[] } {
  const intervals: HlogReadInterval[] = [];
  const counts: HlogReadCounts[] = [];
  const parser = new HlogParser(file, target, filter, (interval) => intervals.push(interval), (c) => counts.push(c));
  const lines = text.split('\n');
  const tail = lines.pop() ?? '';
  lines.forEach((line, index) => parser.line(line, index + 1));
  return { summary: parser.finish(tail, lines.length + 1), intervals, counts };
}
