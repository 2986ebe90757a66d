import { ensureHlogDir, HlogDailyWriter, hlogTargetName } from '../hlog/hlog-daily-writer.js';
import { acquireHlogDirLock } from '../hlog/hlog-dir-lock.js';
import type { LatencyHistogram } from '../../shared/histogram/latency-histogram.js';
import type { ClosedInterval } from '../recording/interval-stats.js';
import type { TargetStats } from '../recording/target-stats.js';

export interface IntervalLogs {
  /**
   * writes the closed interval of one target (every tag that applies to it), then its counters
   * and the kinds of the alerts it fired as one counts comment line
   */
  append(stats: TargetStats, interval: ClosedInterval, alerts?: readonly string[]): void;
  /** the first write error: the soak stops on it, what was written stays readable */
  failure: string | null;
  files(): string[];
  close(): Promise<void>;
}

/**
 * The soak's HdrHistogram interval logs, one daily writer per target. Each interval's lines
 * are encoded synchronously inside append (the histograms are reset right after) and written
 * and fsync'ed in order. A failed write (disk full, read-only) stops the soak with SIGTERM —
 * the run then ends cleanly through its usual path and reports. The directory is locked
 * first (hlog-dir-lock.ts): a second soak on it is refused before it touches a file.
 */
export async function openIntervalLogs(options: { dir: string; resume: boolean }, targetNames: string[],
  log: (line: string) => void): Promise<IntervalLogs | Error> {
  const dirError = await ensureHlogDir(options.dir);
  if (dirError) return new Error(`--hlog: ${dirError.message}`);
  const lock = await acquireHlogDirLock(options.dir);
  if (lock instanceof Error) return new Error(`--hlog: ${lock.message}`);
  if (lock.staleHolder) log(`hlog: took over the lock of ${options.dir} from the soak of ${lock.staleHolder}, which is gone`);
  const writers = new Map<string, HlogDailyWriter>();
  for (const name of targetNames) {
    const writer = await HlogDailyWriter.open({
      dir: options.dir, target: hlogTargetName(name), resume: options.resume, nowMs: Date.now(),
      onEvent: (message) => log(`hlog ${name}: ${message}`),
    });
    if (writer instanceof Error) {
      await Promise.all([...writers.values()].map((w) => w.close()));
      await lock.release();
      return new Error(`--hlog: ${writer.message}`);
    }
    writers.set(name, writer);
  }
  const logs: IntervalLogs = {
    failure: null,
    append(stats, interval, alerts = []) {
      const writer = writers.get(stats.target.name);
      if (!writer || logs.failure) return;
      const tagged: [string, LatencyHistogram][] = [['rtt', interval.histograms.rtt], ['send_error', interval.histograms.send_error]];
      if (stats.target.mode === 'udp') tagged.push(['turnaround', interval.histograms.turnaround]);
      if (stats.agent) tagged.push(['ipdv', stats.agent.intervalIpdv]);
      if (stats.agent?.timerRuns) tagged.push(['timer', stats.agent.intervalTimer]);
      const lengthMs = interval.endMs - interval.startMs;
      const lines = tagged.map(([tag, histogram]) => ({
        tag, startMs: interval.startMs, lengthMs, maxNs: histogram.count === 0 ? 0 : histogram.maxNs, histogram: histogram.histogram,
      }));
      const counts = {
        startMs: interval.startMs, lengthMs, sent: interval.sent, received: interval.received, lost: interval.lost,
        late: interval.late, alerts: [...new Set(alerts)],
      };
      writer.appendInterval(lines, counts).then((error) => {
        if (!error || logs.failure) return;
        logs.failure = `--hlog: ${error.message}; stopping the soak (the logs written so far are intact)`;
        log(`rtprobe soak: ${logs.failure}`);
        process.kill(process.pid, 'SIGTERM');
      }, () => {});
      stats.agent?.intervalIpdv.reset();
      if (stats.agent?.timerRuns) stats.agent.intervalTimer.reset();
    },
    files: () => [...writers.values()].map((w) => w.path).filter((p): p is string => p !== null),
    close: async () => {
      await Promise.all([...writers.values()].map((w) => w.close()));
      await lock.release();
    },
  };
  return logs;
}
