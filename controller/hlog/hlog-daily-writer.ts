import { constants } from 'node:fs';
import { access, mkdir, readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { openHlogFile, type OpenHlogFile } from './hlog-file.js';
import { validateHlogCounts, type HlogCounts } from './hlog-counts.js';
import { describeFsError } from './hlog-fs-errors.js';
import { findResumePoint } from './hlog-resume-point.js';
import { encodeHlogLine, HlogFileWriter, type HlogWritable } from './hlog-writer.js';
import type { HlogLineFields } from './hlog-format.js';

/** Target names become file names: letters, digits, '.', '_', '-', not starting with '.'. */
export function validateHlogTarget(target: string): Error | null {
  if (!/^[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}$/.test(target)) {
    return new Error(`target name '${target}' cannot name an interval log file (use letters, digits, '.', '_', '-')`);
  }
  return null;
}

/** A target name made fit for a file name ("127.0.0.1:7707" → "127.0.0.1_7707"), for callers whose names are addresses. */
export function hlogTargetName(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\./, '_').slice(0, 100);
  return safe === '' ? '_' : safe;
}

/** The UTC day of an epoch ms: "2024-05-01". */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** `<dir>/<target>-YYYY-MM-DD.hlog`, the UTC day the intervals in it start on. */
export function hlogDailyPath(dir: string, target: string, ms: number): string {
  return join(dir, `${target}-${utcDay(ms)}.hlog`);
}

/**
 * Node's recursive mkdir answers ENOENT when the parent is read-only or not ours: ask the
 * nearest existing ancestor why instead.
 */
async function whyNotCreated(dir: string, error: unknown): Promise<unknown> {
  if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return error;
  for (let parent = dirname(dir); ; parent = dirname(parent)) {
    const exists = await access(parent).then(() => true, () => false);
    if (exists) return access(parent, constants.W_OK).then(() => error, (reason: unknown) => reason);
    if (parent === dirname(parent)) return error;
  }
}

/** Creates the log directory if need be and checks it can be written; an Error says why not. */
export async function ensureHlogDir(dir: string): Promise<Error | null> {
  try {
    await mkdir(dir, { recursive: true });
    await access(dir, constants.W_OK);
    return null;
  } catch (error) {
    return new Error(`cannot write interval logs to ${dir}: ${describeFsError(await whyNotCreated(dir, error))}`);
  }
}

export interface HlogDailyOptions {
  dir: string;
  target: string;
  /** continue today's file (or start one after yesterday's) and record the gap */
  resume: boolean;
  /** epoch ms now, to check before the first interval that today's file can be written */
  nowMs: number;
  /** resumes, rotations, gaps, for the soak's log */
  onEvent?: (message: string) => void;
  openFile?: OpenHlogFile;
}

/**
 * The interval log of one target, one file per UTC day: an interval goes into the file of
 * the day it starts on, so a file switch happens at the first interval starting after
 * midnight UTC (driven by the intervals' own times, never by a timer of its own).
 */
export class HlogDailyWriter {
  private current: { day: string; writer: HlogFileWriter } | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(private readonly options: HlogDailyOptions, private gapFromMs: number | null) {}

  /** Checks the directory now (a bad --hlog fails at start, not 10 s in); files open on the first interval. */
  static async open(options: HlogDailyOptions): Promise<HlogDailyWriter | Error> {
    const targetError = validateHlogTarget(options.target);
    if (targetError) return targetError;
    const dirError = await ensureHlogDir(options.dir);
    if (dirError) return dirError;
    const today = hlogDailyPath(options.dir, options.target, options.nowMs);
    if (!options.resume) {
      const exists = await access(today).then(() => true, () => false);
      return exists ? new Error(`${today} exists: pass --resume to continue it, or log to another directory`)
        : new HlogDailyWriter(options, null);
    }
    // Resuming after midnight: today's file is new, the gap since yesterday's last interval goes into it.
    const latest = await HlogDailyWriter.latestFile(options);
    if (latest === null || latest === today) return new HlogDailyWriter(options, null);
    const file = await (options.openFile ?? openHlogFile)(latest, 'append').catch((error: unknown) => error as Error);
    if (file instanceof Error) return new Error(`cannot read ${latest} to resume: ${describeFsError(file)}`);
    const point = await findResumePoint(file).catch((error: unknown) => new Error(describeFsError(error)));
    await file.close().catch(() => undefined);
    return new HlogDailyWriter(options, point instanceof Error || point === 'empty' ? null : point.lastEndMs);
  }

  private static async latestFile({ dir, target }: HlogDailyOptions): Promise<string | null> {
    const pattern = new RegExp(`^${target.replace(/[.]/g, '\\.')}-\\d{4}-\\d{2}-\\d{2}\\.hlog$`);
    const names = (await readdir(dir).catch(() => [] as string[])).filter((name) => pattern.test(name)).sort();
    const last = names.at(-1);
    return last === undefined ? null : join(dir, last);
  }

  /** The file written now (null before the first interval). */
  get path(): string | null {
    return this.current?.writer.path ?? null;
  }

  /** Encodes now (reset the histogram right after), writes in order; resolves null once on disk. */
  append(interval: HlogWritable): Promise<Error | null> {
    const fields = encodeHlogLine(interval);
    if (fields instanceof Error) return Promise.resolve(fields);
    const result = this.queue.then(async () => {
      const writer = await this.writerFor(interval.startMs);
      return writer instanceof Error ? writer : writer.appendEncoded(fields);
    });
    this.queue = result;
    return result;
  }

  /**
   * An interval's tag lines and counts line, written together (HlogFileWriter.appendInterval):
   * on disk all of them or none. Encodes now (reset the histograms right after).
   */
  appendInterval(intervals: readonly HlogWritable[], counts: HlogCounts): Promise<Error | null> {
    const encoded: HlogLineFields[] = [];
    for (const interval of intervals) {
      const fields = encodeHlogLine(interval);
      if (fields instanceof Error) return Promise.resolve(fields);
      encoded.push(fields);
    }
    const invalid = validateHlogCounts(counts);
    if (invalid) return Promise.resolve(invalid);
    const snapshot = { ...counts, alerts: [...counts.alerts] };
    const result = this.queue.then(async () => {
      const writer = await this.writerFor(snapshot.startMs);
      return writer instanceof Error ? writer : writer.appendInterval(encoded, snapshot);
    });
    this.queue = result;
    return result;
  }

  async close(): Promise<void> {
    await this.queue;
    await this.current?.writer.close();
    this.current = null;
  }

  private async writerFor(startMs: number): Promise<HlogFileWriter | Error> {
    const day = utcDay(startMs);
    if (this.current?.day === day) return this.current.writer;
    const { dir, target, onEvent, openFile } = this.options;
    const path = hlogDailyPath(dir, target, startMs);
    if (this.current) {
      await this.current.writer.close();
      onEvent?.(`interval log: new day, now writing ${path}`);
      this.current = null;
    }
    let writer = await HlogFileWriter.create(path, startMs, openFile);
    if (writer instanceof Error && (await access(path).then(() => true, () => false))) {
      // today's file exists (resume, or a create that failed half-way earlier): continue it
      const resumed = await HlogFileWriter.resume(path, startMs, openFile);
      if (resumed instanceof Error) return resumed;
      writer = resumed.writer;
      const { gapMs, tornBytes } = resumed.info;
      onEvent?.(`interval log: resuming ${path}`
        + `${gapMs > 0 ? `, gap of ${(gapMs / 1000).toFixed(3)} s recorded` : ''}${tornBytes > 0 ? `, torn last line (${tornBytes} bytes) removed` : ''}`);
    } else if (!(writer instanceof Error) && this.gapFromMs !== null && startMs > this.gapFromMs) {
      onEvent?.(`interval log: gap of ${((startMs - this.gapFromMs) / 1000).toFixed(3)} s since the last log recorded in ${path}`);
      const error = await writer.appendGap(this.gapFromMs, startMs);
      if (error) return error;
    }
    if (writer instanceof Error) return writer;
    this.gapFromMs = null;
    this.current = { day, writer };
    return writer;
  }
}
