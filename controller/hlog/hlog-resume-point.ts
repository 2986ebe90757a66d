import type { HlogFile } from './hlog-file.js';
import { HLOG_VERSION_LINE } from './hlog-format.js';
import { parseHlogLine } from './hlog-line.js';

/** Where an existing log can be continued. */
export interface HlogResumePoint {
  startMs: number;
  /** what the existing lines' starts are relative to (Java's rules), so ours match */
  baseMs: number;
  /** the end of the last interval or recorded gap; StartTime when there is none */
  lastEndMs: number;
  /** the file up to its last newline; a torn line after it is cut off before appending */
  goodLength: number;
  tornBytes: number;
}

const HEAD_BYTES = 64 << 10;
/** far more than one interval line (a full 1 µs..60 s histogram deflates to a few KB) */
const TAIL_BYTES = 256 << 10;
const YEAR_MS = 365 * 24 * 3600 * 1000;

/** Only (part of) a header: what a crash or a full disk while creating a log leaves. */
function isHeaderPrefix(text: string): boolean {
  if (`${HLOG_VERSION_LINE}\n`.startsWith(text)) return true;
  return text.startsWith(HLOG_VERSION_LINE) && text.split('\n').every((line) => line === '' || /^[#"]/.test(line));
}

async function readAt(file: HlogFile, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  const read = await file.read(buffer, position);
  return buffer.subarray(0, read);
}

/**
 * Reads a log's header and its last complete lines (not the whole file: a day of 1 s
 * intervals is tens of MB). 'empty' when there is no complete header to continue (a crash
 * while creating it): the caller writes a fresh one. An Error when it is not an interval log.
 */
export async function findResumePoint(file: HlogFile): Promise<HlogResumePoint | 'empty' | Error> {
  const size = await file.size();
  const head = await readAt(file, 0, Math.min(size, HEAD_BYTES));
  const headLines = head.toString('utf8').split('\n').slice(0, -1);
  let version = false;
  let startMs: number | null = null;
  let baseMs: number | null = null;
  let firstStartS: number | null = null;
  for (const text of headLines) {
    const line = parseHlogLine(text);
    if (line.kind === 'version') version = true;
    else if (line.kind === 'start-time') startMs = line.epochMs;
    else if (line.kind === 'base-time') baseMs = line.epochMs;
    else if (line.kind === 'interval') { firstStartS = line.startS; break; }
  }
  if (!version || startMs === null) {
    if (size < HEAD_BYTES && isHeaderPrefix(head.toString('utf8'))) return 'empty';
    return new Error('not an HdrHistogram interval log (no version or StartTime header); refusing to append to it');
  }
  if (baseMs === null) {
    // Java: no BaseTime and a first start over a year before StartTime = starts relative to StartTime
    baseMs = firstStartS === null || firstStartS * 1000 < startMs - YEAR_MS ? startMs : 0;
  }
  const tailStart = Math.max(0, size - TAIL_BYTES);
  const tail = await readAt(file, tailStart, size - tailStart);
  const lastNewline = tail.lastIndexOf(0x0a);
  if (lastNewline < 0) return new Error(`no line end in the last ${TAIL_BYTES} bytes; refusing to append`);
  const goodLength = tailStart + lastNewline + 1;
  const tailLines = tail.subarray(0, lastNewline).toString('utf8').split('\n');
  if (tailStart > 0) tailLines.shift();
  let lastEndMs = startMs;
  for (const text of tailLines) {
    const line = parseHlogLine(text);
    if (line.kind === 'interval') lastEndMs = Math.max(lastEndMs, baseMs + (line.startS + line.lengthS) * 1000);
    else if (line.kind === 'gap') lastEndMs = Math.max(lastEndMs, line.toMs);
  }
  return { startMs, baseMs, lastEndMs, goodLength, tornBytes: size - goodLength };
}
