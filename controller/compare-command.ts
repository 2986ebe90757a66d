import type { Histogram } from 'hdr-histogram-js';
import { EXIT_USAGE, parseFlags, printUsageError } from '../shared/cli/command-io.js';
import { writeFileAtomic } from '../shared/cli/write-file-atomic.js';
import { renderCompareHtml } from './report/compare-html.js';
import { buildCompareBlock, formatCompareText, type CompareBlock } from './report/compare-report.js';
import { formatHgrm, parseHgrm, type HgrmRow } from './report/hgrm.js';
import { writeHgrmDir } from './report/hgrm-files.js';
import { checkOutputFile, prepareOutputDir } from '../shared/cli/output-paths.js';
import { LoadSession } from './load/load-runner.js';
import { formatLoadLine, loadTimeoutS, parseLoadFlags, type LoadRecord } from './load/load-spec.js';
import { executeRun, type ReportView } from './run-command.js';
import { parseRunConfig, RUN_FLAG_SPEC, type RunFlags } from './engine/run-config.js';
import type { RunReport } from './report/run-report.js';
import type { TargetStats } from './recording/target-stats.js';

export const COMPARE_HELP = `Usage: rtprobe compare --target passthrough=HOST[:PORT] --target emulated=HOST[:PORT]
                      [run options] [--html FILE] [--hgrm DIR]

Probes two targets on one schedule (their probes interleave within each period, so both see
the same host load) and reports them side by side: every percentile, max, mean, loss and the
worst events, with the ratio second/first per row. The first target is the baseline (the
passed-through NIC), the second the one compared (the emulated NIC); the names are yours.

Output
  --json FILE|-     the JSON report of rtprobe run plus a "compare" block
  --html FILE       a self-contained HTML report: tables, the percentile distribution
                    (x = 1/(1-p), log) and the max RTT per second of both targets
  --hgrm DIR        DIR/NAME.hgrm per target: HdrHistogram percentile distribution, µs
                    (created if missing; each path written is printed on stderr)
  --quiet           no status lines and no text report

Load (started before the first probe, stopped when the run ends: the whole process group,
SIGTERM then SIGKILL after 2 s; also on Ctrl-C and errors; recorded in compare.load)
  --load KIND[@WHERE]  repeatable; KIND is
                    cpu                stress-ng --cpu 0 --cpu-method matrixprod (Debian stress-ng)
                    io                 stress-ng --hdd 1 --hdd-bytes 64M in a temp dir, removed after
                    hackbench          hackbench -P -g 4 -l 10000 in a loop (Debian rt-tests): 160
                                       tasks, sized for a 2-core machine
                    hackbench-classic  hackbench -P -g 150 -l 1000 in a loop: the classic set-up's
                                       'hackbench 150 process 1000', 6000 tasks (heavy)
                    flood              ping -f -q from the host into a lab guest (Debian
                                       iputils-ping; root, the lab up): flood@emu (the default)
                                       or flood@pt; never any other address
  --load-in WHERE   where a --load without @WHERE runs: host (default), pt or emu (inside
                    the lab namespace rtp-pt / rtp-emu with ip netns exec; root, the lab up),
                    or guest: inside the QEMU guest of 'lab up --qemu' (root), with what its
                    image holds: cpu = a busy shell loop per vCPU, io = 64 MiB dd + fsync in a
                    loop (RAM-backed /tmp: the guest has no disk), hackbench as above

Every other option is rtprobe run's (schedule, timeouts, timestamps, --mode icmp, socket and
real-time options, --agent-ws, --key-file): see rtprobe run --help.

Exit status: 0 done, 1 a target answered no probe at all, 2 bad flags, set-up failure (a load
tool missing, not root or the lab down for a load that needs them, an output path that cannot
be written: all before any probe is sent), or a --html/--hgrm file that could not be written
after all (the report is printed before the files), 3 an agent breakdown asked for with
--agent-ws is unknown (its stream never connected), 4 the verdict (--max-rtt, --max-p99,
--max-loss; see rtprobe run --help) is FAIL.
A load that ends by itself during the run is reported (compare.load[].died), not an error.
`;

const COMPARE_FLAG_SPEC = {
  ...RUN_FLAG_SPEC,
  html: { type: 'string' },
  hgrm: { type: 'string' },
  load: { type: 'string', multiple: true },
  'load-in': { type: 'string' },
} as const;

interface CompareFlags extends RunFlags {
  html?: string;
  hgrm?: string;
  load?: string[];
  'load-in'?: string;
}

export interface CompareOptions {
  /** --html FILE */
  html: string | null;
  /** --hgrm DIR */
  hgrm: string | null;
  /** stops the loads (if any) when the report is built and returns what they did */
  stopLoads?: () => LoadRecord[];
}

/** A target's RTT histogram (ns), as the run's TargetStats hold it. */
export interface NamedHistogram {
  name: string;
  histogram: Histogram;
}

/** `load`: the load scenarios of the run ([] = none started) */
export type CompareRunReport = RunReport & { compare: CompareBlock & { load: LoadRecord[] } };

/** The side-by-side text, with one line per load after the header. */
function formatCompareWithLoad(report: RunReport): string {
  const lines = formatCompareText(report).split('\n');
  const loads = (report as Partial<CompareRunReport>).compare?.load ?? [];
  lines.splice(2, 0, ...loads.map(formatLoadLine));
  return lines.join('\n');
}

function writeCompareFiles(report: RunReport, options: CompareOptions, histograms: NamedHistogram[]): string[] {
  const errors: string[] = [];
  const hgrms = histograms.map(({ name, histogram }) => ({ name, text: formatHgrm(histogram) }));
  if (options.hgrm !== null) {
    if (hgrms.length === 0) errors.push('--hgrm: no histograms were handed to compare; nothing written');
    // Created and checked before the first probe; made again in case it was removed meanwhile.
    const problem = prepareOutputDir('--hgrm', options.hgrm);
    if (problem) errors.push(`cannot create --hgrm ${options.hgrm}: ${problem.message}`);
    else {
      const result = writeHgrmDir(options.hgrm, hgrms.map(({ name, text }) => ({ target: name, text })));
      for (const path of result.written) process.stderr.write(`rtprobe compare: wrote ${path}\n`);
      errors.push(...result.errors);
    }
  }
  if (options.html !== null) {
    // The full distributions make the percentile plot; without them it falls back to the report's percentiles.
    const distributions = new Map<string, HgrmRow[]>();
    for (const { name, text } of hgrms) {
      const parsed = parseHgrm(text);
      if (!(parsed instanceof Error)) distributions.set(name, parsed.rows);
    }
    try {
      writeFileAtomic(options.html, renderCompareHtml(report, distributions));
    } catch (error) {
      errors.push(`cannot write --html ${options.html}: ${(error as Error).message}`);
    }
  }
  return errors;
}

/**
 * How `rtprobe run` shows a compare: the JSON gains `compare`, the text is side by side, and
 * the HTML and .hgrm files are written after both (a bad path never loses the measurement).
 * `getHistograms` is asked once the run is over.
 */
export function createCompareView(options: CompareOptions, getHistograms: () => NamedHistogram[]): ReportView {
  return {
    command: 'compare',
    // The loads stop here, before the JSON is written, so the report can say how they ended.
    decorate: (report): CompareRunReport => ({ ...report, compare: { ...buildCompareBlock(report), load: options.stopLoads?.() ?? [] } }),
    formatText: formatCompareWithLoad,
    load: (report) => (report as Partial<CompareRunReport>).compare?.load ?? [],
    writeFiles: (report) => writeCompareFiles(report, options, getHistograms()),
  };
}

export async function compareCommand(argv: string[]): Promise<number> {
  const parsed = parseFlags<CompareFlags>(argv, COMPARE_FLAG_SPEC);
  if (parsed instanceof Error) return printUsageError('compare', parsed);
  if (parsed.help) {
    process.stdout.write(COMPARE_HELP);
    return 0;
  }
  const { html, hgrm, load, 'load-in': loadIn, ...runFlags } = parsed.flags;
  const count = runFlags.target?.length ?? 0;
  if (count !== 2) {
    return printUsageError('compare', new Error(`--target: compare takes exactly two targets, the baseline first ` +
      `(--target passthrough=HOST[:PORT] --target emulated=HOST[:PORT]); ${count} given`));
  }
  if (html === '' || html === '-') return printUsageError('compare', new Error('--html: give a file name'));
  if (hgrm === '') return printUsageError('compare', new Error('--hgrm: give a directory'));
  // Before any load starts or probe is sent: a wrong path is found now, not after the run.
  const pathProblem = (html === undefined ? null : checkOutputFile('--html', html)) ?? (hgrm === undefined ? null : prepareOutputDir('--hgrm', hgrm));
  if (pathProblem) return printUsageError('compare', pathProblem);
  const loads = parseLoadFlags(load, loadIn);
  if (loads instanceof Error) return printUsageError('compare', loads);
  const config = parseRunConfig(runFlags);
  if (config instanceof Error) return printUsageError('compare', config);
  const log = (line: string): void => { process.stderr.write(`rtprobe compare: ${line}\n`); };
  const session = loads.length === 0 ? null : await LoadSession.start(loads, loadTimeoutS(config),
    { log, status: (line) => { if (!config.quiet) log(line); } });
  if (session instanceof Error) {
    log(session.message);
    return EXIT_USAGE;
  }
  let finished: TargetStats[] = [];
  const view = createCompareView({ html: html ?? null, hgrm: hgrm ?? null, stopLoads: () => session?.stopSync() ?? [] },
    () => finished.map((stats) => ({ name: stats.target.name, histogram: stats.rtt.histogram })));
  try {
    return await executeRun(config, { ...view, stats: (stats) => { finished = stats; } });
  } finally {
    // Every way out (set-up failure, Ctrl-C, an exception) stops the load and removes its files.
    await session?.close();
  }
}
