import type * as hdr from 'hdr-histogram-js';
import { formatHlogCountsLine, validateHlogCounts, type HlogCounts } from './hlog-counts.js';
import { encodeCompressedHistogram } from '../../shared/histogram/histogram-codec.js';
import { openHlogFile, type HlogFile, type OpenHlogFile } from './hlog-file.js';
import {
  formatHlogGapLine, formatHlogHeader, formatHlogIntervalLine, formatSeconds, validateHlogTag, type HlogLineFields,
} from './hlog-format.js';
import { describeFsError } from './hlog-fs-errors.js';
import { findResumePoint } from './hlog-resume-point.js';

/** One closed interval to log: epoch ms, the exact max in ns, the histogram of ns values. */
export interface HlogWritable {
  tag: string;
  startMs: number;
  lengthMs: number;
  maxNs: number;
  histogram: ReturnType<typeof hdr.build>;
}

/** What `resume` found in the file it continues. */
export interface HlogResumeInfo {
  lastEndMs: number;
  /** the gap written, 0 when the log continues without one */
  gapMs: number;
  /** bytes of a torn last line cut off before appending */
  tornBytes: number;
}

/** Encodes and formats a line now, so the caller may reset the histogram as soon as this returns. */
export function encodeHlogLine(interval: HlogWritable): HlogLineFields | Error {
  const tagError = validateHlogTag(interval.tag);
  if (tagError) return tagError;
  if (!Number.isFinite(interval.startMs) || !(interval.lengthMs >= 0)) {
    return new Error(`interval start ${interval.startMs} / length ${interval.lengthMs} ms are not times`);
  }
  const payload = encodeCompressedHistogram(interval.histogram);
  if (payload instanceof Error) return payload;
  return { tag: interval.tag, startMs: interval.startMs, lengthMs: interval.lengthMs, maxNs: interval.maxNs, payload };
}

/**
 * Appends to one interval log. Every line goes out in one write followed by an fsync, in the
 * order appended: a `kill -9` or a power cut loses at most the line being written, and that one
 * is torn (no newline) so readers can tell. A failed write is cut back off the file, so what was
 * written before stays readable and the next append starts on a clean line. Failures are values.
 */
export class HlogFileWriter {
  private queue: Promise<unknown> = Promise.resolve();
  /** bytes known good: writes go here, and a failed one is truncated back to it */
  private length: number;
  private dirty = false;

  private constructor(readonly path: string, private readonly file: HlogFile, readonly startMs: number,
    readonly baseMs: number, length: number) {
    this.length = length;
  }

  /** A new log (fails if the file exists), header written and synced. BaseTime = StartTime. */
  static async create(path: string, startMs: number, openFile: OpenHlogFile = openHlogFile): Promise<HlogFileWriter | Error> {
    let file: HlogFile;
    try {
      file = await openFile(path, 'create');
    } catch (error) {
      return new Error(`cannot create interval log ${path}: ${describeFsError(error)}`);
    }
    const base = Math.round(startMs);
    const writer = new HlogFileWriter(path, file, base, base, 0);
    const error = await writer.writeLine(formatHlogHeader(base, base));
    if (error) {
      await file.close().catch(() => undefined);
      return error;
    }
    return writer;
  }

  /**
   * Continues an existing log: reads its header and last interval end, cuts off a torn last
   * line, and records the time until `atMs` (when the next interval starts) as a gap line.
   */
  static async resume(path: string, atMs: number, openFile: OpenHlogFile = openHlogFile):
    Promise<{ writer: HlogFileWriter; info: HlogResumeInfo } | Error> {
    let file: HlogFile;
    try {
      file = await openFile(path, 'append');
    } catch (error) {
      return new Error(`cannot open interval log ${path} to resume it: ${describeFsError(error)}`);
    }
    const fail = async (message: string): Promise<Error> => {
      await file.close().catch(() => undefined);
      return new Error(`cannot resume interval log ${path}: ${message}`);
    };
    try {
      const point = await findResumePoint(file);
      if (point instanceof Error) return await fail(point.message);
      if (point === 'empty') {
        await file.truncate(0);
        const base = Math.round(atMs);
        const writer = new HlogFileWriter(path, file, base, base, 0);
        const error = await writer.writeLine(formatHlogHeader(base, base));
        return error ? await fail(error.message) : { writer, info: { lastEndMs: base, gapMs: 0, tornBytes: 0 } };
      }
      if (point.tornBytes > 0) {
        await file.truncate(point.goodLength);
        await file.sync();
      }
      const writer = new HlogFileWriter(path, file, point.startMs, point.baseMs, point.goodLength);
      const gapMs = Math.max(0, Math.round(atMs - point.lastEndMs));
      const torn = point.tornBytes > 0 ? `torn last line of ${point.tornBytes} bytes removed` : '';
      if (gapMs > 0 || torn) {
        const error = await writer.writeLine(gapMs > 0 ? formatHlogGapLine(point.lastEndMs, atMs, torn) : `#[Resumed at ${formatSeconds(atMs)}, ${torn}]\n`);
        if (error) return await fail(error.message);
      }
      return { writer, info: { lastEndMs: point.lastEndMs, gapMs, tornBytes: point.tornBytes } };
    } catch (error) {
      return await fail(describeFsError(error));
    }
  }

  /** Encodes now, writes in order; resolves null when the line is on disk, or the Error. */
  append(interval: HlogWritable): Promise<Error | null> {
    const fields = encodeHlogLine(interval);
    if (fields instanceof Error) return Promise.resolve(fields);
    return this.appendEncoded(fields);
  }

  /** A line encoded earlier (encodeHlogLine). */
  appendEncoded(fields: HlogLineFields): Promise<Error | null> {
    return this.enqueue(() => this.writeLine(formatHlogIntervalLine(fields, this.baseMs)));
  }

  /** A gap comment: nothing was measured between these epoch ms (a restart, a rotation after one). */
  appendGap(fromMs: number, toMs: number, note = ''): Promise<Error | null> {
    return this.enqueue(() => this.writeLine(formatHlogGapLine(fromMs, toMs, note)));
  }

  /**
   * A whole interval: its tag lines (encoded earlier) and its counts line in one write and one
   * fsync, so that a full disk never leaves half an interval (say send_error without rtt).
   */
  appendInterval(lines: readonly HlogLineFields[], counts: HlogCounts): Promise<Error | null> {
    const error = validateHlogCounts(counts);
    if (error) return Promise.resolve(error);
    const text = lines.map((fields) => formatHlogIntervalLine(fields, this.baseMs)).join('') + formatHlogCountsLine(counts);
    return this.enqueue(() => this.writeLine(text));
  }

  /** Waits for the queued lines, then closes the file. */
  async close(): Promise<void> {
    await this.queue;
    await this.file.close().catch(() => undefined);
  }

  private enqueue(task: () => Promise<Error | null>): Promise<Error | null> {
    const result = this.queue.then(task);
    this.queue = result;
    return result;
  }

  private async writeLine(text: string): Promise<Error | null> {
    const data = Buffer.from(text, 'utf8');
    try {
      // a failed write or truncate earlier may have left bytes past the good length
      if (this.dirty) {
        await this.file.truncate(this.length);
        this.dirty = false;
      }
      await this.file.write(data, this.length);
      await this.file.sync();
      this.length += data.length;
      return null;
    } catch (error) {
      this.dirty = true;
      try {
        await this.file.truncate(this.length);
        await this.file.sync();
        this.dirty = false;
      } catch {
        // retried before the next write; a reader sees a torn last line meanwhile
      }
      return new Error(`cannot write to interval log ${this.path}: ${describeFsError(error)}; `
        + 'the intervals written before are intact');
    }
  }
}
