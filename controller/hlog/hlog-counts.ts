import { formatSeconds } from './hlog-format.js';

/**
 * The per-interval counters of a soak, beside its histograms: loss and alerts are not
 * histograms, so they go into the log as one comment line per interval, after its tag lines.
 * Java's HistogramLogReader skips lines starting with '#':
 *
 *   #[rtprobe-interval: start=1714557600.000 length=10.000 sent=100 received=99 lost=1 late=0 alerts=max-rtt,loss]
 *
 * start is epoch seconds (absolute, not relative to BaseTime), length seconds; `alerts=-` when
 * none fired.
 */
export interface HlogCounts {
  startMs: number;
  lengthMs: number;
  sent: number;
  received: number;
  lost: number;
  late: number;
  /** alert kinds fired for this target in this interval ("max-rtt", "loss") */
  alerts: string[];
}

/** A counts line as read, with its target (from the file name). */
export interface HlogReadCounts extends HlogCounts {
  target: string;
  file: string;
  line: number;
}

export const HLOG_COUNTS_PREFIX = '#[rtprobe-interval:';
const ALERT_KIND = /^[a-z0-9][a-z0-9_-]{0,31}$/;
const COUNTERS = ['sent', 'received', 'lost', 'late'] as const;

/** Error when a counter is not a count or an alert kind would break the line. */
export function validateHlogCounts(counts: HlogCounts): Error | null {
  if (!(Math.abs(counts.startMs) <= Number.MAX_SAFE_INTEGER) || !(counts.lengthMs >= 0 && counts.lengthMs <= Number.MAX_SAFE_INTEGER)) {
    return new Error(`interval start ${counts.startMs} / length ${counts.lengthMs} ms are not times`);
  }
  for (const key of COUNTERS) {
    if (!Number.isSafeInteger(counts[key]) || counts[key] < 0) return new Error(`${key} ${counts[key]} is not a count`);
  }
  const bad = counts.alerts.find((kind) => !ALERT_KIND.test(kind));
  return bad === undefined ? null : new Error(`alert kind '${bad}' may hold a-z, 0-9, '_', '-' only`);
}

/** The line, newline-terminated (validate first). */
export function formatHlogCountsLine(counts: HlogCounts): string {
  return `${HLOG_COUNTS_PREFIX} start=${formatSeconds(counts.startMs)} length=${formatSeconds(counts.lengthMs)}`
    + ` sent=${counts.sent} received=${counts.received} lost=${counts.lost} late=${counts.late}`
    + ` alerts=${counts.alerts.length === 0 ? '-' : counts.alerts.join(',')}]\n`;
}

const LINE = /^#\[rtprobe-interval: start=(\d+(?:\.\d+)?) length=(\d+(?:\.\d+)?) sent=(\d+) received=(\d+) lost=(\d+) late=(\d+) alerts=(\S*)\]$/;

/** Parses a line starting with HLOG_COUNTS_PREFIX (without its newline); a string says why not. */
export function parseHlogCountsLine(line: string): HlogCounts | string {
  const match = LINE.exec(line);
  if (!match) return 'unreadable rtprobe-interval line (want start= length= sent= received= lost= late= alerts=)';
  const [, start, length, sent, received, lost, late, alerts] = match;
  const numbers = [sent, received, lost, late].map(Number);
  if (numbers.some((n) => !Number.isSafeInteger(n))) return 'a counter is too large';
  const kinds = alerts === '-' || alerts === undefined || alerts === '' ? [] : alerts.split(',');
  if (kinds.some((kind) => !ALERT_KIND.test(kind))) return `unreadable alert kinds '${alerts}'`;
  const [s, r, l, t] = numbers as [number, number, number, number];
  const startMs = Math.round(Number(start) * 1000);
  const lengthMs = Math.round(Number(length) * 1000);
  // 400 digits read as Infinity, 1e300 would be written back as "1e+300.000": neither is a time.
  if (!Number.isSafeInteger(startMs) || !Number.isSafeInteger(lengthMs)) return 'start or length is not a time';
  return { startMs, lengthMs, sent: s, received: r, lost: l, late: t, alerts: kinds };
}
