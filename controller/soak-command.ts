import { parseFlags, printUsageError } from '../shared/cli/command-io.js';
import { parseDurationNs } from '../shared/cli/parse-values.js';
import { AlertActions } from './alert-actions.js';
import { evaluateAlerts, type AlertThresholds } from './alerts.js';
import { formatRunReport } from './format-report.js';
import { executeRun, RUN_HELP, type ReportView } from './run-command.js';
import { parseRunConfig, RUN_FLAG_SPEC, type RunFlags } from './run-config.js';
import type { TargetStats } from './target-stats.js';

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

Every 'run' option applies except --duration and --count:
${RUN_HELP.slice(RUN_HELP.indexOf('Targets'))}`;

const SOAK_FLAG_SPEC = {
  ...RUN_FLAG_SPEC,
  interval: { type: 'string' },
  'alert-max': { type: 'string' },
  'alert-loss': { type: 'string' },
  events: { type: 'string' },
  'on-alert': { type: 'string' },
} as const;

interface SoakFlags extends RunFlags {
  interval?: string;
  'alert-max'?: string;
  'alert-loss'?: string;
  events?: string;
  'on-alert'?: string;
}

export interface SoakOptions {
  intervalMs: number;
  thresholds: AlertThresholds;
  eventsFile: string | null;
  onAlert: string | null;
}

/** "0.1%" or "0.001" → a ratio in (0, 1]. */
export function parseLossThreshold(flag: string, text: string): number | Error {
  const match = /^(\d+(?:\.\d+)?)(%)?$/.exec(text.trim());
  const ratio = match ? Number(match[1]) / (match[2] ? 100 : 1) : Number.NaN;
  if (!(ratio > 0 && ratio <= 1)) return new Error(`${flag}: '${text}' is not a loss threshold (examples: 0.1%, 0.001)`);
  return ratio;
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
  return {
    intervalMs: intervalNs / 1e6, thresholds: { maxRttNs, lossRatio },
    eventsFile: flags.events ?? null, onAlert: flags['on-alert'] ?? null,
  };
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
  const onInterval = (targets: TargetStats[], nowMs: number): void => {
    for (const stats of targets) {
      const m = stats.matcher;
      stats.interval.close(nowMs, { sent: m.sent, received: m.received, lost: m.lost, late: m.late }, (interval) => {
        for (const event of evaluateAlerts(stats.target.name, interval, soak.thresholds)) actions.fire(event);
      });
    }
  };
  const view: ReportView = {
    command: 'soak',
    decorate: (report) => ({ ...report, soak: { interval_s: soak.intervalMs / 1000, alerts: actions.fired } }),
    formatText: (report) => `${formatRunReport(report)}alerts: ${actions.fired} fired` +
      `${soak.onAlert ? `, --on-alert run ${actions.commandsRun} (${actions.commandsFailed} failed, ${actions.commandsSkipped} skipped while one ran)` : ''}\n`,
    writeFiles: () => [],
    interval: { ms: soak.intervalMs, onInterval },
  };
  return executeRun({ ...config, durationNs: null, count: null }, view);
}
