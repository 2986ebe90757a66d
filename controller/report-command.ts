import { statSync } from 'node:fs';
import { dirname, extname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { EXIT_USAGE, normalizeArgv, printUsageError } from '../shared/cli/command-io.js';
import { writeFileAtomic } from '../shared/cli/write-file-atomic.js';
import { checkOutputFile, prepareOutputDir } from '../shared/cli/output-paths.js';
import { writeHgrmDir } from './report/hgrm-files.js';
import { readProvenanceFile } from './report/provenance-file.js';
import { formatProvenanceLines, type Provenance } from './report/provenance.js';
import { formatCyclictestHistogram } from './hlog/cyclictest-histogram.js';
import { formatHlogReport } from './hlog/format-hlog-report.js';
import { HlogMerger, type HlogSeries } from './hlog/hlog-merge.js';
import { readHlogPaths, type HlogReadResult } from './hlog/hlog-reader.js';
import { buildHlogReport } from './hlog/hlog-report.js';
import type { HlogReadCounts } from './hlog/hlog-counts.js';
import { parseReportTime } from './hlog/report-time.js';
import { formatHgrm } from './report/hgrm.js';
import { renderReportHtml, type IntervalMax } from './report/report-html.js';

export const REPORT_HELP = `Usage: rtprobe report FILE|DIR ... [--from T] [--to T] [--tag TAG] [--target NAME]
                     [--json FILE|-] [--html FILE] [--hgrm DIR] [--cyclictest FILE|DIR]

Reads HdrHistogram interval logs (.hlog, as rtprobe soak --hlog writes them, or any other
writer's) and merges the selected intervals per target and tag: count, min, percentiles
p50..p99.999, max and mean, the time covered, the restarts the writer recorded, the spans no
interval covers, and every malformed line counted by reason, with its line number.

Input
  FILE|DIR            .hlog files; a directory means its *.hlog files. A file's target is its
                      name without -YYYY-MM-DD.hlog (the daily files of soak --hlog).
  --from T, --to T    intervals starting in [from, to): ISO time (2024-05-01T10:00, no zone
                      = UTC), epoch seconds, 'now', or relative to now (-1h, -30m, -2d)
  --tag TAG           only this tag (rtt, turnaround, ipdv, timer, send_error; repeatable)
  --target NAME       only this target (repeatable)
Output (the text summary goes to standard output)
  --json FILE|-       the summary as JSON (ns, ISO times) to FILE, or to standard output
                      instead of the text with - (a bare --json at the end is -); per
                      target under the run JSON's names: rtt_ns, turnaround_ns, ...
  --html FILE         a self-contained HTML page (no script, no external resource): per
                      target the summary, the rtt percentile distribution of every target,
                      the max RTT of each interval over time with a red ring on each interval
                      that fired an alert, under it the guest timer max of each interval (tag
                      timer, agent --timer-latency) on the same time axis, and the loss of each
                      interval over time (from the counts lines soak --hlog writes); restarts
                      and holes shaded
  --hgrm DIR          the merged percentile distribution, µs, as HdrHistogram writes .hgrm:
                      DIR/TARGET-TAG.hgrm per series (DIR created; each path printed on
                      stderr), as compare --hgrm DIR writes DIR/TARGET.hgrm
  --cyclictest FILE|DIR
                      the merged histogram in cyclictest -h format (1 µs rows up to the max,
                      at most 100000 rows; above that: overflows), for OSADL-style plots;
                      tag timer gives the guest's own cyclictest-style histogram
  With several targets or tags, FILE gets -TARGET-TAG before its extension; a DIR gets
  TARGET-TAG.cyclictest. Output paths are checked before the logs are read.

Exit status: 0 done (malformed lines are counted, not fatal), 2 bad flags, a path that
does not exist, no .hlog file, no interval selected, or an output file not written.
`;

interface ReportFlags {
  from?: string;
  to?: string;
  tag?: string[];
  target?: string[];
  json?: string;
  html?: string;
  hgrm?: string;
  cyclictest?: string;
  help?: boolean;
}

const FLAG_SPEC = {
  from: { type: 'string' }, to: { type: 'string' }, tag: { type: 'string', multiple: true },
  target: { type: 'string', multiple: true }, json: { type: 'string' }, html: { type: 'string' }, hgrm: { type: 'string' },
  cyclictest: { type: 'string' }, help: { type: 'boolean', short: 'h' },
} as const;

/** Where one series' file goes: a directory gets TARGET-TAG.ext, a file its name (+ -TARGET-TAG for many). */
function outputPath(path: string, series: HlogSeries, many: boolean, extension: string): string {
  const label = `${series.target}-${series.tag === '' ? 'untagged' : series.tag}`;
  let isDirectory = false;
  try {
    isDirectory = statSync(path).isDirectory();
  } catch {
    // a file to be created
  }
  if (isDirectory) return join(path, `${label}${extension}`);
  if (!many) return path;
  const ext = extname(path);
  return `${path.slice(0, path.length - ext.length)}-${label}${ext}`;
}

/** Writes one file per series; returns the messages of those that failed. */
function writeSeriesFiles(path: string, all: HlogSeries[], extension: string, render: (s: HlogSeries) => string): string[] {
  const errors: string[] = [];
  for (const series of all) {
    const file = outputPath(path, series, all.length > 1, extension);
    try {
      writeFileAtomic(file, render(series));
    } catch (error) {
      errors.push(`cannot write ${file}: ${(error as Error).message}`);
    }
  }
  return errors;
}

/** The provenance files of the directories given, or holding the files given (each directory once). */
function logProvenance(paths: readonly string[]): Provenance[] {
  const dirs = [...new Set(paths.map((path) => {
    try {
      return statSync(path).isDirectory() ? resolve(path) : dirname(resolve(path));
    } catch {
      return dirname(resolve(path));
    }
  }))];
  return dirs.flatMap(readProvenanceFile);
}

/** Who wrote the logs, before the summary: one block per soak recorded. */
function formatLogProvenance(list: readonly Provenance[]): string {
  if (list.length === 0) return '';
  return list.map((p, i) => `written by soak ${i + 1} of ${list.length}:\n${formatProvenanceLines(p).map((l) => `  ${l}`).join('\n')}\n`).join('') + '\n';
}

/** --json FILE, --html FILE and --hgrm DIR checked (and DIR made) before any log is read. */
function checkReportOutputs(flags: ReportFlags): Error | null {
  if (flags.json === '') return new Error('--json: give a file name or - for standard output');
  if (flags.json !== undefined && flags.json !== '-') {
    if (/\.hlog$/.test(flags.json)) return new Error(`--json: '${flags.json}' is an input; write --json - (or put --json last) for standard output`);
    const problem = checkOutputFile('--json', flags.json);
    if (problem) return problem;
  }
  if (flags.html !== undefined) {
    const problem = checkOutputFile('--html', flags.html);
    if (problem) return problem;
  }
  if (flags.hgrm === '') return new Error('--hgrm: give a directory');
  return flags.hgrm === undefined ? null : prepareOutputDir('--hgrm', flags.hgrm);
}

function nothingSelected(read: HlogReadResult): string {
  const outOfRange = read.files.reduce((sum, file) => sum + file.outOfRange, 0);
  const otherTag = read.files.reduce((sum, file) => sum + file.otherTag, 0);
  const malformed = read.files.reduce((sum, file) => sum + Object.values(file.malformed).reduce((a, b) => a + b, 0), 0);
  const tags = [...new Set(read.files.flatMap((file) => file.tagsSeen))].map((tag) => tag || '(no tag)');
  return `no interval selected: ${outOfRange} outside the time range, ${otherTag} of other tags `
    + `(the files hold: ${tags.join(', ') || 'no intervals'}), ${malformed} malformed lines`
    + `${read.skippedFiles.length > 0 ? `, ${read.skippedFiles.length} files of other targets or days` : ''}`
    + `${read.unreadable.length > 0 ? `; unreadable: ${read.unreadable.join('; ')}` : ''}`;
}

/** rtprobe report: reads, merges, prints; returns the exit code. */
export async function reportCommand(argv: string[]): Promise<number> {
  let flags: ReportFlags;
  let paths: string[];
  try {
    const parsed = parseArgs({ args: normalizeArgv(argv, FLAG_SPEC), options: FLAG_SPEC, strict: true, allowPositionals: true });
    flags = parsed.values;
    paths = parsed.positionals;
  } catch (error) {
    return printUsageError('report', new Error((error as Error).message.replace(/\. To specify a positional.*$/s, '')));
  }
  if (flags.help) {
    process.stdout.write(REPORT_HELP);
    return 0;
  }
  if (paths.length === 0) return printUsageError('report', new Error('name an .hlog file or a directory of them'));
  const pathProblem = checkReportOutputs(flags);
  if (pathProblem) return printUsageError('report', pathProblem);
  const nowMs = Date.now();
  const fromMs = flags.from === undefined ? null : parseReportTime('--from', flags.from, nowMs);
  const toMs = flags.to === undefined ? null : parseReportTime('--to', flags.to, nowMs);
  if (fromMs instanceof Error) return printUsageError('report', fromMs);
  if (toMs instanceof Error) return printUsageError('report', toMs);
  if (fromMs !== null && toMs !== null && toMs <= fromMs) return printUsageError('report', new Error('--to must be after --from'));
  const tags = flags.tag ?? null;
  const targets = flags.target ? new Set(flags.target) : null;

  const merger = new HlogMerger();
  // --html only: the rtt max column of each interval and the counts lines, for the time plots
  const maxima: IntervalMax[] = [];
  const timerMaxima: IntervalMax[] = [];
  const counts: HlogReadCounts[] = [];
  const html = flags.html;
  const read = await readHlogPaths(paths, { fromMs, toMs, tags: tags ? new Set(tags) : null, targets }, (interval) => {
    merger.add(interval);
    if (html !== undefined && (interval.tag === 'rtt' || interval.tag === 'timer')) {
      (interval.tag === 'rtt' ? maxima : timerMaxima)
        .push({ target: interval.target, startMs: interval.startMs, lengthMs: interval.lengthMs, maxNs: interval.maxNs });
    }
  }, html === undefined ? undefined : (c) => counts.push(c));
  if (read instanceof Error) {
    process.stderr.write(`rtprobe report: ${read.message}\n`);
    return EXIT_USAGE;
  }
  const series = merger.all();
  if (series.length === 0) {
    process.stderr.write(`rtprobe report: ${nothingSelected(read)}\n`);
    return EXIT_USAGE;
  }
  const report = { ...buildHlogReport(merger, read, { fromMs, toMs, tags }), provenance: logProvenance(paths) };
  const errors: string[] = [];
  const jsonText = `${JSON.stringify(report, null, 2)}\n`;
  if (flags.json !== undefined && flags.json !== '-') {
    try {
      writeFileAtomic(flags.json, jsonText);
    } catch (error) {
      errors.push(`--json: cannot write ${flags.json}: ${(error as Error).message}`);
    }
  }
  process.stdout.write(flags.json === '-' ? jsonText : formatLogProvenance(report.provenance) + formatHlogReport(report));
  if (flags.hgrm !== undefined) {
    const hgrms = writeHgrmDir(flags.hgrm, series.map((s) => ({ target: s.target, tag: s.tag, text: formatHgrm(s.merged()) })));
    for (const path of hgrms.written) process.stderr.write(`rtprobe report: wrote ${path}\n`);
    errors.push(...hgrms.errors);
  }
  errors.push(
    ...(flags.cyclictest === undefined ? []
      : writeSeriesFiles(flags.cyclictest, series, '.cyclictest', (s) => formatCyclictestHistogram(s.merged(), s.summary()))),
  );
  if (html !== undefined) {
    try {
      writeFileAtomic(html, renderReportHtml({ report, rtt: series.filter((s) => s.tag === 'rtt'), maxima, timerMaxima, counts }));
    } catch (error) {
      errors.push(`--html: cannot write ${html}: ${(error as Error).message}`);
    }
  }
  for (const message of errors) process.stderr.write(`rtprobe report: ${message}\n`);
  return errors.length > 0 ? EXIT_USAGE : 0;
}
