import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { HlogReadCounts } from './hlog-counts.js';
import { describeFsError } from './hlog-fs-errors.js';
import { HlogParser, type HlogFileSummary, type HlogFilter, type HlogReadInterval } from './hlog-parser.js';

/** `<target>-YYYY-MM-DD.hlog`, the daily files of hlog-daily-writer.ts */
const DAILY_NAME = /^(.+)-(\d{4}-\d{2}-\d{2})\.hlog$/;
const DAY_MS = 86_400_000;

/** The target a file belongs to: its name without the day and the extension. */
export function hlogTargetOf(file: string): string {
  const name = basename(file);
  return DAILY_NAME.exec(name)?.[1] ?? name.replace(/\.hlog$/, '');
}

/** A daily file cannot hold an interval starting outside its UTC day: skip it unread. */
function dayOutsideFilter(file: string, filter: HlogFilter): boolean {
  const day = DAILY_NAME.exec(basename(file))?.[2];
  if (day === undefined) return false;
  const dayStartMs = Date.parse(`${day}T00:00:00Z`);
  if (Number.isNaN(dayStartMs)) return false;
  return (filter.toMs !== null && dayStartMs >= filter.toMs) || (filter.fromMs !== null && dayStartMs + DAY_MS <= filter.fromMs);
}

/** The files named: a file as is, a directory's `*.hlog` files in name order (target, then day). */
export async function listHlogFiles(paths: string[]): Promise<string[] | Error> {
  const files: string[] = [];
  for (const path of paths) {
    let info;
    try {
      info = await stat(path);
    } catch (error) {
      return new Error(`${path}: ${describeFsError(error)}`);
    }
    if (!info.isDirectory()) { files.push(path); continue; }
    const names = (await readdir(path).catch(() => [] as string[])).filter((name) => name.endsWith('.hlog')).sort();
    if (names.length === 0) return new Error(`${path}: no .hlog files in this directory`);
    files.push(...names.map((name) => join(path, name)));
  }
  return files;
}

/** Streams one file through a parser, in constant memory whatever its size. */
async function readOneFile(file: string, filter: HlogFilter, onInterval: (interval: HlogReadInterval) => void,
  onCounts?: (counts: HlogReadCounts) => void): Promise<HlogFileSummary | Error> {
  const parser = new HlogParser(file, hlogTargetOf(file), filter, onInterval, onCounts);
  let pending = '';
  let lineNumber = 0;
  try {
    const stream = createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 16 });
    for await (const chunk of stream as AsyncIterable<string>) {
      pending += chunk;
      let newline = pending.indexOf('\n');
      let from = 0;
      while (newline >= 0) {
        parser.line(pending.slice(from, newline), ++lineNumber);
        from = newline + 1;
        newline = pending.indexOf('\n', from);
      }
      pending = pending.slice(from);
    }
  } catch (error) {
    return new Error(`${file}: ${describeFsError(error)}`);
  }
  return parser.finish(pending, lineNumber + 1);
}

export interface HlogReadResult {
  files: HlogFileSummary[];
  /** files not read: a daily file whose day lies outside --from/--to, or of another target */
  skippedFiles: { file: string; reason: 'outside the time range' | 'another target' }[];
  /** files that could not be read (each message names the file) */
  unreadable: string[];
}

/**
 * Reads the files and directories named and hands every selected interval to `onInterval` as
 * it is read (the caller merges and drops it: memory stays flat over days of logs), and every
 * rtprobe-interval counts line in the time range to `onCounts`. An Error
 * only when a path names nothing readable at all; malformed lines are counted per file.
 */
export async function readHlogPaths(paths: string[], filter: HlogFilter,
  onInterval: (interval: HlogReadInterval) => void, onCounts?: (counts: HlogReadCounts) => void): Promise<HlogReadResult | Error> {
  const files = await listHlogFiles(paths);
  if (files instanceof Error) return files;
  const result: HlogReadResult = { files: [], skippedFiles: [], unreadable: [] };
  for (const file of files) {
    if (filter.targets && !filter.targets.has(hlogTargetOf(file))) {
      result.skippedFiles.push({ file, reason: 'another target' });
      continue;
    }
    if (dayOutsideFilter(file, filter)) {
      result.skippedFiles.push({ file, reason: 'outside the time range' });
      continue;
    }
    const summary = await readOneFile(file, filter, onInterval, onCounts);
    if (summary instanceof Error) result.unreadable.push(summary.message);
    else result.files.push(summary);
  }
  return result;
}
