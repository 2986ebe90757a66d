import { isIP } from 'node:net';
import { EXIT_USAGE, EXIT_VERDICT_FAILED, parseFlags, printUsageError } from '../shared/cli/command-io.js';
import { writeFileAtomic } from '../shared/cli/write-file-atomic.js';
import { gatherRunProvenance } from './report/gather-provenance.js';
import { DELIVERY_LAG_WARN_MS, backlogPauseText, deliveryLagText, formatProvenanceLines, lateSenderText, receiveBufferDropsText, socketName, type Provenance } from './report/provenance.js';
import { evaluateVerdict, formatVerdictLine } from './report/verdict.js';
import { formatRunReport } from './report/format-report.js';
import type { RunReport } from './report/run-report.js';
import { parseRunConfig, RUN_FLAG_SPEC, type RunConfig, type RunFlags } from './engine/run-config.js';
import { runController, type RunIo, type RunOutcome } from './engine/run-controller.js';
import { chooseTimestamps, type TimestampChoice } from '../shared/cli/timestamp-choice.js';
import { SOCKET_FLAGS_HELP } from '../shared/cli/socket-flags.js';
import { resolveTargets } from './engine/resolve-targets.js';
import { refusedOnlyMessage } from './report/refusal-text.js';
import type { ResolvedTarget, TargetStats } from './recording/target-stats.js';

export const RUN_HELP = `Usage: rtprobe run --target [NAME=]HOST[:PORT] [--target ...] [options]

Sends UDP probes to rtprobe agents (or ICMP echo requests, --mode icmp) on an isochronous
schedule and reports the round trip down to its worst case.

Targets
  --target [NAME=]HOST[:PORT]  an agent to probe (repeatable; port 7707 by default;
                               IPv6 as [ADDR]:PORT). Probes to several targets interleave
                               within each period. icmp://HOST or udp://HOST:PORT sets the
                               mode of one target.
  --targets-file FILE          targets from FILE, one a line as --target writes them;
                               '#' starts a comment (with --target: the file's first)
  --mode udp|icmp              probe of targets without a scheme (default udp). icmp: echo
                               requests answered by the guest's kernel, no agent needed;
                               needs CAP_NET_RAW (root).
Schedule
  --rate HZ                    probes per second per target (default 100; '1k' = 1000)
  --duration TIME              how long to send (default 30s; units ns us ms s m h d)
  --count N                    send N probes per target instead of --duration
  --size BYTES                 probe size in bytes, 64..1472 (default 64); probes never
                               fragment: one larger than the path MTU fails with EMSGSIZE
  --spin auto|US               the native sender busy-waits before each deadline instead of
                               sleeping: a VM wakes a sleeping vCPU late, a spinning one not
                               at all. auto: as long as its wake-ups come late (the median of
                               the last 64: half wake in time), at most 100 µs and a tenth
                               of the time between two slots (100 targets at 100 Hz: 10 µs),
                               so a host that wakes in a few µs spins a few. US: that many µs
                               in full (0 = sleep only). Costs the spin × probes a second of
                               one core's time. Default: auto with --cpu (the sender has a
                               CPU of its own), else 0: on a shared CPU the spin's cycles
                               come from the guest or the work beside it; the send error is
                               then this host's timer latency. Slots closer than 50 µs
                               (over 200 targets at 100 Hz, at most 1 kHz a target) are sent
                               in groups, one wake-up and one sendmmsg per 50 µs, without a
                               spin: a probe's send error is then up to 50 µs by design (the
                               report's provenance: senders).
Authentication (README: Security)
  --key-file FILE              sign every UDP probe with HMAC-SHA256 (first line of FILE,
                               >= 16 chars; the agent gets the same file) and count only
                               replies signed with it; others are rejected as 'bad-auth' or
                               'unauthenticated'
Classification
  --timeout TIME               a reply later than this is 'late' (still recorded; default 1s)
  --loss-after TIME            no reply by then = 'lost' (default 10s)
Timestamps
  --timestamps MODE            auto | kernel | hardware | user (default auto: kernel stamps
                               from the native addon where it loads, else user space)
Agent stream (the agent's own histograms, see rtprobe agent --help)
  --agent-ws [NAME=]URL        subscribe to the agent of target NAME: ws://HOST:7708
                               (NAME may be left out with one target; repeatable)
  --agent-token-file FILE      bearer token for the agent streams
Output
  --json FILE|-                write the JSON report to FILE, or to standard output with -
  --quiet                      no status lines and no text report
  --verbose                    every target in full in the text report (with more than 4
                               targets it shows one line each, the worst max first); with
                               two or more, the report opens with the run over all their
                               probes: loss, missed slots, RTT and send error (JSON all_targets)
Verdict (for CI: a line 'verdict: PASS|FAIL: …' at the end, "verdict" in the JSON, exit 4 on FAIL)
  --max-rtt TIME               FAIL when a target's max RTT is above TIME (e.g. 500us)
  --max-p99 TIME               FAIL when a target's p99 RTT is above TIME
  --max-loss PERCENT           FAIL when a target lost more than PERCENT of its probes
                               (0.1%; a bare number is a ratio, 0.001 = 0.1%; 0 = none)

${SOCKET_FLAGS_HELP}
Refusals: an agent that will not answer a probe (all its --max-sessions places busy, over
its --max-rate, a replay, a missing or wrong key) replies with a refusal and its reason. The
report counts them per target as 'refused' (JSON: refused {reason: count}), apart from loss,
with what to do. When the run ends (or on Ctrl-C) the controller sends each agent that
answered a session-end (signed with --key-file), so its place is free for the next run at
once.

Loss this machine made: replies the kernel dropped because the controller's socket buffer was
full (it read too late) count as lost, and are also counted apart from the kernel's own
counter (JSON: provenance.senders[].receive_buffer_drops; the sender line; a warning). A
JavaScript that falls over 1 s behind its socket thread is a warning too (max_delivery_lag_ms),
and so is a sender whose median target's send error p99 is over 1 ms: it waited for a CPU
(many targets on few CPUs: give it --rt-priority N --cpu C; README: Many targets).

Exit status: 0 done, 1 a target answered no probe at all (with only refusals: "agent
refused: REASON" on standard error), 2 bad flags, a --json path that cannot be written
(checked before the first probe) or set-up failure, 3 an agent breakdown asked for with
--agent-ws is unknown (its stream never connected or was refused; the report says why),
4 the verdict is FAIL. When several apply, the lowest non-zero one is the status.
`;

/** Sends; reports; returns the exit code. Ctrl-C stops sending early and still reports. */
export async function runCommand(argv: string[]): Promise<number> {
  const parsed = parseFlags<RunFlags>(argv, RUN_FLAG_SPEC);
  if (parsed instanceof Error) return printUsageError('run', parsed);
  if (parsed.help) {
    process.stdout.write(RUN_HELP);
    return 0;
  }
  const config = parseRunConfig(parsed.flags);
  if (config instanceof Error) return printUsageError('run', config);
  return executeRun(config);
}

/** How a command built on `run` (compare) shows the report: extra JSON, its own text, files. */
export interface ReportView {
  /** the command name in messages */
  command: string;
  decorate(report: RunReport): RunReport;
  /** `verbose`: --verbose, every target in full */
  formatText(report: RunReport, verbose: boolean): string;
  /** writes extra files (HTML, .hgrm); returns the error messages of what could not be written */
  writeFiles(report: RunReport): string[];
  /** sees the finished per-target stats before the report is built (compare's .hgrm needs whole histograms) */
  stats?: (targets: TargetStats[]) => void;
  /** soak: interval closing while the run goes on */
  interval?: RunIo['interval'];
  /** soak: the targets and their stamp source, once the run starts (live dashboard) */
  onStart?: RunIo['onStart'];
  /** soak: sees the final report (with provenance and verdict) before it is written */
  onReport?: (report: RunReport) => void;
  /** compare: the load scenarios for the provenance (after decorate) */
  load?: (report: RunReport) => unknown[];
}

const RUN_VIEW: ReportView = {
  command: 'run',
  decorate: (report) => report,
  formatText: formatRunReport,
  writeFiles: () => [],
};

export async function executeRun(config: RunConfig, view: ReportView = RUN_VIEW): Promise<number> {
  const targets = await resolveTargets(config.targets);
  if (targets instanceof Error) return printUsageError(view.command, targets);
  const choice = chooseTimestamps(config.timestamps, config.socket);
  if (choice instanceof Error) return printUsageError(view.command, choice);
  for (const warning of choice.warnings) process.stderr.write(`rtprobe ${view.command}: warning: ${warning}\n`);
  // Every SIGINT or SIGTERM until the report is out stops sending (again: nothing more to do).
  // A supervisor that repeats itself (coreutils `timeout` signals the child and its group) must
  // not kill the run between its end and its report: with one-shot handlers, removed once the
  // probes were in, a second SIGTERM within ~20 ms of the first did (exit 143, no report).
  // The handlers stay after the report, until the process exits: removed here, a signal in the
  // few ticks before main.ts installs its own (exit with the command's code) met Node's default
  // action and killed a run whose report was out (exit 143, 1 in ~6 runs of the SIGTERM test).
  // Aborting a finished run does nothing.
  const abort = new AbortController();
  const onSignal = (): void => abort.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return measureAndReport(config, view, choice, targets, abort.signal);
}

async function measureAndReport(config: RunConfig, view: ReportView, choice: TimestampChoice,
  targets: ResolvedTarget[], signal: AbortSignal): Promise<number> {
  const tty = process.stderr.isTTY === true;
  let outcome: RunOutcome;
  try {
    outcome = await runController(config, choice, targets, {
      log: (line) => process.stderr.write(`${tty ? '\r\x1b[K' : ''}${line}\n`),
      // --quiet: no status line, so none is computed (six percentiles per target a second)
      status: config.quiet ? undefined : (line) => process.stderr.write(tty ? `\r\x1b[K${line}` : `${line}\n`),
      signal,
      onStats: view.stats,
      interval: view.interval,
      onStart: view.onStart,
    });
  } catch (error) {
    // Opening sockets is the only thing that throws here: an option or privilege to fix.
    process.stderr.write(`rtprobe ${view.command}: ${(error as Error).message}\n`);
    return EXIT_USAGE;
  }
  if (tty && !config.quiet) process.stderr.write('\r\x1b[K');
  const decorated = view.decorate(outcome.report);
  const provenance = await gatherRunProvenance(process.argv.slice(2), config.socket, outcome.report.targets[0]?.timestamps.tx ?? 'user',
    outcome.warnings, outcome.stats, view.load?.(decorated) ?? null, outcome.senders);
  const verdict = evaluateVerdict(decorated.targets, config.verdict);
  // provenance right after the format's own keys; the verdict last, as in the text
  const { version, tool, ...rest } = decorated;
  const report: RunReport = { version, tool, provenance, ...rest, ...(verdict ? { verdict } : {}) };
  view.onReport?.(report);
  const jsonText = `${JSON.stringify(report, null, 2)}\n`;
  if (config.json === '-') process.stdout.write(jsonText);
  else if (config.json !== null) {
    try {
      writeFileAtomic(config.json, jsonText);
    } catch (error) {
      // The measurement is done: never lose it because a path was wrong.
      process.stderr.write(`rtprobe ${view.command}: cannot write --json ${config.json}: ${(error as Error).message}; report follows on stdout\n`);
      process.stdout.write(jsonText);
      return EXIT_USAGE;
    }
  }
  if (!config.quiet) {
    (config.json === '-' ? process.stderr : process.stdout).write(formatTextReport(report, provenance, view, config.verbose));
  } else if (verdict) {
    // --quiet keeps the one line CI looks for
    process.stderr.write(`${formatVerdictLine(verdict)}\n`);
  }
  for (const sender of outcome.senders) {
    const socket = socketName(sender);
    if (sender.receive_buffer_drops > 0) process.stderr.write(`rtprobe ${view.command}: warning: ${socket}: ${receiveBufferDropsText(sender.receive_buffer_drops)}\n`);
    if (sender.max_delivery_lag_ms >= DELIVERY_LAG_WARN_MS) process.stderr.write(`rtprobe ${view.command}: warning: ${socket}: ${deliveryLagText(sender.max_delivery_lag_ms)}\n`);
    if (sender.backlog_paused_ms > 0) process.stderr.write(`rtprobe ${view.command}: warning: ${socket}: ${backlogPauseText(sender.backlog_paused_ms)}\n`);
    const ownTargets = report.targets.filter((t) => t.mode === sender.protocol && (isIP(t.address) === 6 ? 6 : 4) === sender.family);
    const late = lateSenderText(ownTargets.flatMap((t) => t.send_error_ns.p99 ?? []), provenance.rt.rt_priority?.applied === true);
    if (late) process.stderr.write(`rtprobe ${view.command}: warning: ${socket}: ${late}\n`);
  }
  for (const target of report.targets) {
    const refused = refusedOnlyMessage(target);
    if (refused) process.stderr.write(`rtprobe ${view.command}: target ${target.name}: ${refused}\n`);
  }
  const fileErrors = view.writeFiles(report);
  for (const message of fileErrors) process.stderr.write(`rtprobe ${view.command}: ${message}\n`);
  if (fileErrors.length > 0) return EXIT_USAGE;
  if (outcome.exitCode !== 0) return outcome.exitCode;
  return verdict?.result === 'fail' ? EXIT_VERDICT_FAILED : 0;
}

/** Provenance lines, then the command's own text, then the verdict line (when limits were given). */
function formatTextReport(report: RunReport, provenance: Provenance, view: ReportView, verbose: boolean): string {
  const verdict = report.verdict ? `\n${formatVerdictLine(report.verdict)}\n` : '';
  return `${formatProvenanceLines(provenance).join('\n')}\n\n${view.formatText(report, verbose)}${verdict}`;
}
