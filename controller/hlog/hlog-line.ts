import { HLOG_COUNTS_PREFIX, parseHlogCountsLine, type HlogCounts } from './hlog-counts.js';
import { validateHlogTag } from './hlog-format.js';

/** Why a line of an interval log was not used. */
export const HLOG_MALFORMED_REASONS = ['bad-header', 'bad-tag', 'bad-number', 'bad-payload', 'torn-line', 'bad-counts'] as const;
export type HlogMalformedReason = (typeof HLOG_MALFORMED_REASONS)[number];

/** What one line of an interval log is (pure; the payload is decoded later, only if selected). */
export type HlogLine =
  | { kind: 'version'; version: string }
  | { kind: 'start-time'; epochMs: number }
  | { kind: 'base-time'; epochMs: number }
  | { kind: 'gap'; fromMs: number; toMs: number }
  | { kind: 'counts'; counts: HlogCounts }
  | { kind: 'legend' }
  | { kind: 'comment' }
  | { kind: 'blank' }
  /** start is seconds as written (relative to BaseTime, or absolute: the parser decides) */
  | { kind: 'interval'; tag: string; startS: number; lengthS: number; maxMs: number; payload: string }
  | { kind: 'malformed'; reason: HlogMalformedReason; detail: string };

const NUMBER = /^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;
const malformed = (reason: HlogMalformedReason, detail: string): HlogLine => ({ kind: 'malformed', reason, detail });

function parseNumber(text: string | undefined): number | null {
  if (text === undefined || !NUMBER.test(text.trim())) return null;
  const value = Number(text);
  return Number.isFinite(value) ? value : null;
}

/** The epoch seconds Java writes as "#[Key: 1700000000.123 (seconds since epoch)…", as ms. */
function headerTime(line: string, key: string): HlogLine {
  const value = parseNumber(/^\S+/.exec(line.slice(key.length).trim())?.[0]);
  if (value === null || value < 0) return malformed('bad-header', `${key.slice(2, -1)} is not a time in seconds`);
  return { kind: key === '#[StartTime:' ? 'start-time' : 'base-time', epochMs: value * 1000 };
}

function parseComment(line: string): HlogLine {
  if (line.startsWith('#[StartTime:')) return headerTime(line, '#[StartTime:');
  if (line.startsWith('#[BaseTime:')) return headerTime(line, '#[BaseTime:');
  if (line.startsWith('#[Histogram log format version')) {
    const version = /^#\[Histogram log format version (\d+\.\d+)\]$/.exec(line)?.[1];
    return version === undefined ? malformed('bad-header', 'unreadable format version') : { kind: 'version', version };
  }
  if (line.startsWith('#[Gap:')) {
    const match = /^#\[Gap: from (\S+) to (\S+)/.exec(line);
    const from = parseNumber(match?.[1]);
    const to = parseNumber(match?.[2]);
    if (from === null || to === null) return malformed('bad-header', 'unreadable gap');
    return { kind: 'gap', fromMs: from * 1000, toMs: to * 1000 };
  }
  if (line.startsWith(HLOG_COUNTS_PREFIX)) {
    const counts = parseHlogCountsLine(line);
    return typeof counts === 'string' ? malformed('bad-counts', counts) : { kind: 'counts', counts };
  }
  return { kind: 'comment' };
}

/** Classifies one line (without its newline). */
export function parseHlogLine(raw: string): HlogLine {
  const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
  if (line.trim() === '') return { kind: 'blank' };
  if (line.startsWith('#')) return parseComment(line);
  if (line.startsWith('"StartTimestamp"')) return { kind: 'legend' };
  let tag = '';
  let rest = line;
  if (line.startsWith('Tag=')) {
    const comma = line.indexOf(',');
    tag = line.slice(4, comma < 0 ? undefined : comma);
    const tagError = validateHlogTag(tag);
    if (comma < 0 || tagError) return malformed('bad-tag', comma < 0 ? 'a tag and nothing else' : tagError?.message ?? '');
    rest = line.slice(comma + 1);
  }
  const fields = rest.split(',');
  if (fields.length !== 4) return malformed('bad-number', `${fields.length} fields, want start,length,max,histogram`);
  const [startText, lengthText, maxText, payload] = fields;
  const startS = parseNumber(startText);
  const lengthS = parseNumber(lengthText);
  const maxMs = parseNumber(maxText);
  if (startS === null) return malformed('bad-number', `start '${startText}' is not a number`);
  if (lengthS === null || lengthS < 0) return malformed('bad-number', `length '${lengthText}' is not a duration`);
  if (maxMs === null || maxMs < 0) return malformed('bad-number', `max '${maxText}' is not a value`);
  if (!payload) return malformed('bad-payload', 'no histogram');
  return { kind: 'interval', tag, startS, lengthS, maxMs, payload };
}
