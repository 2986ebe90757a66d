/**
 * The text of an HdrHistogram interval log, format 1.3, as Java's `HistogramLogWriter` writes it
 * (pure formatting; the file I/O is in hlog-writer.ts):
 *
 *   #[Histogram log format version 1.3]
 *   #[StartTime: 1700000000.123 (seconds since epoch), Tue Nov 14 22:13:20 UTC 2023]
 *   #[BaseTime: 1700000000.123 (seconds since epoch)]
 *   "StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"
 *   Tag=rtt,0.000,10.000,5.001,HISTFAAAA…
 *
 * Interval start is seconds after BaseTime; length in seconds; max in ms (ns / 1e6, Java's
 * default max unit ratio) with 6 decimals, the exact max in ns (Java writes 3; its reader and
 * HdrHistogram's other readers parse the column as a number or skip it, so ns fit). Lines
 * starting with '#' are comments to Java's reader; we use one for
 * gaps: `#[Gap: from <epoch s> to <epoch s> (seconds since epoch)]`.
 */

export const HLOG_VERSION_LINE = '#[Histogram log format version 1.3]';
export const HLOG_LEGEND_LINE = '"StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"';
/** Java divides the max column by this by default: ns → ms */
export const HLOG_MAX_UNIT_RATIO = 1e6;

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (value: number, width = 2): string => String(value).padStart(width, '0');

/** ms as seconds with exactly 3 decimals, from integer ms (no binary rounding of x.xxx5). */
export function formatSeconds(ms: number): string {
  const whole = Math.round(ms);
  const sign = whole < 0 ? '-' : '';
  const abs = Math.abs(whole);
  return `${sign}${Math.floor(abs / 1000)}.${pad(abs % 1000, 3)}`;
}

/** java.util.Date#toString in UTC: "Tue Nov 14 22:13:20 UTC 2023". */
export function formatJavaDateUtc(ms: number): string {
  const d = new Date(Math.round(ms));
  return `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${pad(d.getUTCDate())} `
    + `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC ${d.getUTCFullYear()}`;
}

/** The four header lines, newline-terminated; StartTime and BaseTime are epoch ms. */
export function formatHlogHeader(startMs: number, baseMs: number): string {
  return `${HLOG_VERSION_LINE}\n`
    + `#[StartTime: ${formatSeconds(startMs)} (seconds since epoch), ${formatJavaDateUtc(startMs)}]\n`
    + `#[BaseTime: ${formatSeconds(baseMs)} (seconds since epoch)]\n`
    + `${HLOG_LEGEND_LINE}\n`;
}

/** Tags end at a comma for Java's reader; spaces and '=' break other readers. Error when unfit. */
export function validateHlogTag(tag: string): Error | null {
  if (tag.length === 0) return new Error('an interval log tag must not be empty');
  if (tag.length > 64) return new Error(`interval log tag '${tag.slice(0, 64)}…' is longer than 64 characters`);
  if (!/^[\x21-\x7e]+$/.test(tag) || /[,=]/.test(tag)) {
    return new Error(`interval log tag '${tag}' may hold printable ASCII only, without spaces, ',' or '='`);
  }
  return null;
}

export interface HlogLineFields {
  tag: string;
  startMs: number;
  lengthMs: number;
  /** the interval's exact max, ns (written as ms with 6 decimals: whole ns, rounded up) */
  maxNs: number;
  /** compressed base64 histogram (histogram-codec.ts) */
  payload: string;
}

/** One interval line, newline-terminated, its start relative to the log's BaseTime. */
export function formatHlogIntervalLine(fields: HlogLineFields, baseMs: number): string {
  // An empty interval has no max (LatencyHistogram keeps -Infinity): Java writes 0.000.
  // Integer ns, split by integer arithmetic: 1300 ns is "0.001300", never a float's 0.0012999.
  const maxNs = Number.isFinite(fields.maxNs) && fields.maxNs > 0 ? Math.ceil(fields.maxNs) : 0;
  const maxMs = maxNs === 0 ? '0.000' : `${Math.floor(maxNs / 1e6)}.${pad(maxNs % 1e6, 6)}`;
  return `Tag=${fields.tag},${formatSeconds(fields.startMs - baseMs)},${formatSeconds(fields.lengthMs)},`
    + `${maxMs},${fields.payload}\n`;
}

/** A gap in the log (a restart), as a comment Java's reader skips. */
export function formatHlogGapLine(fromMs: number, toMs: number, note = ''): string {
  return `#[Gap: from ${formatSeconds(fromMs)} to ${formatSeconds(toMs)} (seconds since epoch)${note ? `, ${note}` : ''}]\n`;
}
