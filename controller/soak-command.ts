import { parseFlags, printUsageError } from '../shared/cli/command-io.js';
import { parseDurationNs, parseLossRatio } from '../shared/cli/parse-values.js';
import { checkOutputFile } from '../shared/cli/output-paths.js';
import { privilegedPortHint } from '../shared/cli/privileged-port.js';
import { AlertActions } from './soak/alert-actions.js';
import { evaluateAlerts, type AlertThresholds } from './soak/alerts.js';
import { formatRunReport } from './report/format-report.js';
import { executeRun, RUN_HELP, type ReportView } from './run-command.js';
import { parseRunConfig, RUN_FLAG_SPEC, type RunFlags } from './engine/run-config.js';
import type { TargetStats } from './recording/target-stats.js';
import type { StampSource } from '../shared/transport/probe-transport.js';
import { parseHostPort } from '../shared/cli/host-port.js';
import { readTokenFile } from '../shared/cli/token-file.js';
import { DashboardServer, isLoopbackHost } from './soak/dashboard/dashboard-server.js';
import { buildLiveSnapshot } from './soak/live-snapshot.js';
import { buildTargetDetail } from './soak/live-target-detail.js';
import { SoakTimeline } from './soak/soak-timeline.js';
import { soakSettings } from './soak/soak-settings.js';
import { formatPrometheusMetrics, type SocketReading } from './soak/prometheus-metrics.js';
import { openIntervalLogs } from './soak/interval-logs.js';
import { gatherRunProvenance } from './report/gather-provenance.js';
import { recordProvenance } from './report/provenance-file.js';
import type { Provenance } from './report/provenance.js';

export const SOAK_HELP = `Usage: rtprobe soak --target [NAME=]HOST[:PORT] [...] [options]

'run' without an end, for long monitoring (16 h and more): constant memory, per-interval
alerts, and a final report when it is stopped (Ctrl-C / SIGTERM).

Soak options
  --interval TIME              interval of the logs and alerts (default 10s)
  --alert-max TIME             alert when an interval's max RTT exceeds TIME (e.g. 500us)
  --alert-loss PERCENT         alert when an interval's loss exceeds PERCENT (e.g. 0.1%)
  --events FILE                append every alert as a JSON line to FILE
  --on-alert CMD               run CMD (sh -c) per alert with RTPROBE_ALERT_KIND, _TARGET,
                               _VALUE, _THRESHOLD, _START, _END, _MESSAGE in its environment;
                               one at a time, 30 s limit
  --hlog DIR                   HdrHistogram interval logs (format 1.3) per target, tags rtt,
                               turnaround, send_error, ipdv (from --agent-ws) and timer
                               (the agent's --timer-latency), one line
                               per interval, fsync'ed as it closes, a file per UTC day:
                               DIR/<target>-YYYY-MM-DD.hlog (read them with 'rtprobe report');
                               one soak per DIR: a second one exits 2 naming the PID of
                               the first (DIR/.rtprobe-soak.lock; a dead soak's lock is
                               taken over). Ctrl-C / SIGTERM log the last, partial interval
  --resume                     continue the logs of an earlier soak (after a crash or
                               restart); the time between is recorded as a gap
  --http HOST:PORT             serve the live dashboard (/: every target worst first, the
                               alerts, a target's charts over the whole soak), its data
                               (/live, /target) and Prometheus metrics (/metrics);
                               e.g. 127.0.0.1:7709
  --http-token-file FILE       bearer token for the HTTP server (Authorization: Bearer, or
                               ?token= for the browser); required when HOST is not loopback

The verdict (--max-rtt, --max-p99, --max-loss) judges the whole soak when it is stopped;
alerts judge each interval and do not change the exit status.

Every 'run' option applies except --duration and --count (a soak runs until stopped):
${runHelpWithout(['--duration', '--count'])}`;

/** rtprobe run's help from its Targets section on, without the lines of flags soak refuses. */
function runHelpWithout(flags: string[]): string {
  const lines = RUN_HELP.slice(RUN_HELP.indexOf('Targets')).split('\n');
  const kept: string[] = [];
  let skipping = false;
  for (const line of lines) {
    // A refused flag's line and its continuation lines (indented past the flag column).
    if (flags.some((flag) => line.startsWith(`  ${flag} `))) skipping = true;
    else if (!/^ {20,}\S/.test(line)) skipping = false;
    if (!skipping) kept.push(line);
  }
  return kept.join('\n');
}

const SOAK_FLAG_SPEC = {
  ...RUN_FLAG_SPEC,
  interval: { type: 'string' },
  'alert-max': { type: 'string' },
  'alert-loss': { type: 'string' },
  events: { type: 'string' },
  'on-alert': { type: 'string' },
  http: { type: 'string' },
  'http-token-file': { type: 'string' },
  hlog: { type: 'string' },
  resume: { type: 'boolean' },
} as const;

interface SoakFlags extends RunFlags {
  interval?: string;
  'alert-max'?: string;
  'alert-loss'?: string;
  events?: string;
  'on-alert'?: string;
  http?: string;
  'http-token-file'?: string;
  hlog?: string;
  resume?: boolean;
}

export interface SoakOptions {
  intervalMs: number;
  thresholds: AlertThresholds;
  eventsFile: string | null;
  onAlert: string | null;
  http: { host: string; port: number; token: string | null } | null;
  hlog: { dir: string; resume: boolean } | null;
}

/** "0.1%" or "0.001" → a ratio in (0, 1]. */
export function parseLossThreshold(flag: string, text: string): number | Error {
  return parseLossRatio(flag, text, false);
}

export function parseSoakOptions(flags: SoakFlags): SoakOptions | Error {
  if (flags.duration !== undefined || flags.count !== undefined) {
    return new Error(`${flags.duration !== undefined ? '--duration' : '--count'}: a soak runs until stopped; use 'rtprobe run' for a bounded run`);
  }
  const intervalNs = parseDurationNs('--interval', flags.interval ?? '10s');
  if (intervalNs instanceof Error) return intervalNs;
  if (intervalNs < 1e9 || intervalNs > 3600e9) return new Error('--interval: must be 1s..1h');
  const maxRttNs = flags['alert-max'] === undefined ? null : parseDurationNs('--alert-max', flags['alert-max']);
  if (maxRttNs instanceof Error) return maxRttNs;
  const lossRatio = flags['alert-loss'] === undefined ? null : parseLossThreshold('--alert-loss', flags['alert-loss']);
  if (lossRatio instanceof Error) return lossRatio;
  if (flags['on-alert'] !== undefined && flags['on-alert'].trim() === '') return new Error('--on-alert: give a command');
  const eventsProblem = flags.events === undefined ? null : checkOutputFile('--events', flags.events);
  if (eventsProblem) return eventsProblem;
  const http = parseHttp(flags);
  if (http instanceof Error) return http;
  if (flags.resume && flags.hlog === undefined) return new Error('--resume: continues interval logs: give --hlog DIR');
  if (flags.hlog === '') return new Error('--hlog: give a directory');
  return {
    intervalMs: intervalNs / 1e6, thresholds: { maxRttNs, lossRatio },
    eventsFile: flags.events ?? null, onAlert: flags['on-alert'] ?? null, http,
    hlog: flags.hlog === undefined ? null : { dir: flags.hlog, resume: flags.resume ?? false },
  };
}

function parseHttp(flags: SoakFlags): SoakOptions['http'] | Error {
  if (flags.http === undefined) {
    return flags['http-token-file'] === undefined ? null : new Error('--http-token-file: only with --http HOST:PORT');
  }
  const listen = parseHostPort('--http', flags.http, 7709);
  if (listen instanceof Error) return listen;
  const token = flags['http-token-file'] === undefined ? null : readTokenFile('--http-token-file', flags['http-token-file']);
  if (token instanceof Error) return token;
  if (token === null && !isLoopbackHost(listen.host)) {
    return new Error(`--http: ${listen.host} is reachable beyond this host: give --http-token-file (or bind 127.0.0.1)`);
  }
  return { host: listen.host, port: listen.port, token };
}

export async function soakCommand(argv: string[]): Promise<number> {
  const parsed = parseFlags<SoakFlags>(argv, SOAK_FLAG_SPEC);
  if (parsed instanceof Error) return printUsageError('soak', parsed);
  if (parsed.help) {
    process.stdout.write(SOAK_HELP);
    return 0;
  }
  const soak = parseSoakOptions(parsed.flags);
  if (soak instanceof Error) return printUsageError('soak', soak);
  const config = parseRunConfig(parsed.flags);
  if (config instanceof Error) return printUsageError('soak', config);
  const log = (line: string): void => { process.stderr.write(`${line}\n`); };
  const actions = new AlertActions({ eventsFile: soak.eventsFile, onAlert: soak.onAlert, log });
  const logs = soak.hlog ? await openIntervalLogs(soak.hlog, config.targets.map((t) => t.name), log) : null;
  if (logs instanceof Error) return printUsageError('soak', logs);
  const timeline = new SoakTimeline();
  const onInterval = (targets: TargetStats[], nowMs: number): void => {
    for (const stats of targets) {
      const m = stats.matcher;
      stats.interval.close(nowMs, { sent: m.sent, received: m.received, lost: m.lost, late: m.late }, (interval) => {
        const events = evaluateAlerts(stats.target.name, interval, soak.thresholds);
        for (const event of events) actions.fire(event);
        timeline.add(stats.target.name, interval, events);
        logs?.append(stats, interval, events.map((event) => event.kind));
      });
    }
  };
  let targets: TargetStats[] = [];
  let stamps: StampSource = 'user';
  let sockets: () => SocketReading[] = () => [];
  let dashboard: DashboardServer | null = null;
  let startedMs = Date.now();
  if (soak.http) {
    const settings = soakSettings(argv, config, soak);
    try {
      dashboard = await DashboardServer.listen({
        ...soak.http,
        snapshot: () => buildLiveSnapshot(targets, stamps, timeline, { startedMs, settings }, Date.now()),
        detail: (name) => {
          const stats = targets.find((t) => t.target.name === name);
          return stats ? buildTargetDetail(stats, timeline, soak.thresholds, startedMs, soak.intervalMs / 1000, Date.now()) : null;
        },
        metrics: () => formatPrometheusMetrics(targets, { alertsByKind: actions.firedByKind, sockets: sockets() }),
      });
    } catch (error) {
      const hint = privilegedPortHint((error as NodeJS.ErrnoException).code, soak.http.port);
      return printUsageError('soak', new Error(`--http: cannot listen on ${soak.http.host}:${soak.http.port}: ${(error as Error).message}${hint}`));
    }
    log(`dashboard http://${soak.http.host.includes(':') ? `[${soak.http.host}]` : soak.http.host}:${dashboard.port}/ (metrics at /metrics)`);
  }
  // soak --hlog DIR: who wrote the logs, beside them (rtprobe report DIR reads it back)
  const hlogDir = logs ? soak.hlog?.dir ?? null : null;
  let provenanceWritten: Promise<void> = Promise.resolve();
  let finalProvenance: Provenance | null = null;
  const noteFailure = (message: string | null): void => { if (message) log(`rtprobe soak: warning: ${message}`); };
  const view: ReportView = {
    command: 'soak',
    decorate: (report) => ({
      ...report,
      soak: { interval_s: soak.intervalMs / 1000, alerts: actions.fired, hlog: logs ? { dir: soak.hlog?.dir, files: logs.files() } : null },
    }),
    formatText: (report, verbose) => `${formatRunReport(report, verbose)}alerts: ${actions.fired} fired` +
      `${soak.onAlert ? `, --on-alert run ${actions.commandsRun} (${actions.commandsFailed} failed, ${actions.commandsSkipped} skipped while one ran)` : ''}\n`,
    writeFiles: () => (logs?.failure ? [logs.failure] : []),
    onReport: (report) => { finalProvenance = report.provenance ?? null; },
    interval: { ms: soak.intervalMs, onInterval },
    onStart: (stats, source, warnings, readSockets) => {
      targets = stats;
      stamps = source;
      sockets = readSockets;
      if (hlogDir !== null) {
        provenanceWritten = gatherRunProvenance(process.argv.slice(2), config.socket, source, warnings, stats, null)
          .then((provenance) => noteFailure(recordProvenance(hlogDir, provenance, false)));
      }
      startedMs = Date.now();
      const thresholdNs = soak.thresholds.maxRttNs;
      if (thresholdNs === null) return;
      for (const target of stats) {
        const send = target.sendToAgent;
        if (send) target.breach = { thresholdNs, send: (seq, rttNs) => { send(seq, rttNs); }, lastSentMs: 0 };
      }
    },
  };
  try {
    return await executeRun({ ...config, durationNs: null, count: null }, view);
  } finally {
    await dashboard?.close();
    await logs?.close();
    await provenanceWritten;
    // the final one knows the agents' hellos: it takes the place of the one written at start
    if (hlogDir !== null && finalProvenance !== null) noteFailure(recordProvenance(hlogDir, finalProvenance, true));
  }
}
