import { randomInt } from 'node:crypto';
import { monoNs } from '../shared/time/clock.js';
import { encodeProbe } from '../shared/wire/probe-codec.js';
import { OFFSET_SEQ, OFFSET_T1 } from '../shared/wire/probe-layout.js';
import type { ProbeTransport, TransportEvent } from '../shared/transport/probe-transport.js';
import { openTransport } from './open-transport.js';
import { periodNsForRate } from './probe-schedule.js';
import { buildRunReport, type RunReport } from './run-report.js';
import type { RunConfig } from './run-config.js';
import { RunState } from './run-state.js';
import { formatStatusLine } from './status-line.js';
import { TargetStats, type ResolvedTarget } from './target-stats.js';

export interface RunIo {
  /** status lines and warnings */
  log: (line: string) => void;
  /** rewrites the live status line (a TTY) or prints it (a pipe) */
  status: (line: string) => void;
  /** aborting stops sending early and reports what was measured */
  signal?: AbortSignal;
}

export interface RunOutcome {
  report: RunReport;
  /** 1 when a target answered not a single probe */
  exitCode: 0 | 1;
}

// The schedule starts a little after set-up so the first probe is not late by construction.
const START_DELAY_NS = 20_000_000n;
const EXPIRE_EVERY_MS = 100;

function uniqueSessions(count: number): number[] {
  const sessions = new Set<number>();
  while (sessions.size < count) sessions.add(randomInt(1, 0xffff_ffff));
  return [...sessions];
}

/** Runs the probe schedule against resolved targets and returns the report. */
export async function runController(config: RunConfig, targets: ResolvedTarget[], io: RunIo): Promise<RunOutcome> {
  const periodNs = periodNsForRate(config.rateHz);
  // Room for every probe that may be in flight until declared lost, plus the expiry tick.
  const capacity = Math.ceil((config.lossAfterNs + 2e9) / Number(periodNs)) + 16;
  const sessions = uniqueSessions(targets.length);
  const stats = targets.map((target, i) => new TargetStats(target, sessions[i] ?? 1, {
    capacity, timeoutNs: config.timeoutNs, lossAfterNs: BigInt(config.lossAfterNs),
  }));
  const state = new RunState(stats);

  // One socket per address family; each schedules the targets of its family.
  const families = ([4, 6] as const).filter((family) => targets.some((t) => t.family === family));
  const transports: ProbeTransport[] = [];
  let wake: (() => void) | null = null;
  const startMonoNs = monoNs() + START_DELAY_NS;
  let stampSource: ProbeTransport['stampSource'] = 'user';
  for (const family of families) {
    const indices = targets.flatMap((t, i) => (t.family === family ? [i] : []));
    const onEvents = (events: TransportEvent[]): void => {
      // The transport numbers its own targets; map them to the run's.
      state.apply(events.map((event) => ('target' in event ? { ...event, target: indices[event.target] ?? -1 } : event)));
      if (events.some((event) => event.kind === 'done')) wake?.();
    };
    const opened = await openTransport(config.timestamps, family, onEvents, (error) => io.log(`warning: socket: ${error.message}`));
    for (const warning of opened.warnings) io.log(`warning: ${warning}`);
    stampSource = opened.transport.stampSource;
    transports.push(opened.transport);
    opened.transport.start({
      targets: indices.map((i) => targets[i]).filter((t): t is ResolvedTarget => t !== undefined),
      templates: indices.map((i) => encodeProbe(stats[i]?.session ?? 0, 0n, 0n, config.sizeBytes)),
      seqOffset: OFFSET_SEQ,
      t1Offset: OFFSET_T1,
      periodNs,
      startMonoNs,
      probesPerTarget: BigInt(config.count ?? 0),
      ...(config.durationNs === null ? {} : { endMonoNs: startMonoNs + BigInt(config.durationNs) }),
    });
  }

  const startedMs = Date.now();
  const expireTimer = setInterval(() => state.expire(monoNs()), EXPIRE_EVERY_MS);
  const statusTimer = setInterval(() => {
    io.status(formatStatusLine(Number(monoNs() - startMonoNs) / 1e9, stats));
  }, 1000);
  const stopAll = (): void => {
    for (const transport of transports) transport.stop();
  };
  const onAbort = (): void => stopAll();
  io.signal?.addEventListener('abort', onAbort, { once: true });

  try {
    // Sending ends by count, duration or abort; each transport then reports 'done'.
    await new Promise<void>((resolve) => {
      wake = () => { if (state.doneTransports >= transports.length) resolve(); };
      wake();
    });
    const sendingEndedNs = monoNs();
    // Wait for the replies still in flight: up to --loss-after, or --timeout after an abort.
    const graceNs = BigInt(io.signal?.aborted ? Math.min(config.timeoutNs, config.lossAfterNs) : config.lossAfterNs);
    while (stats.some((s) => s.matcher.inFlight > 0) && monoNs() - sendingEndedNs < graceNs) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      state.expire(monoNs());
    }
    const durationS = Number(sendingEndedNs - startMonoNs) / 1e9;
    state.finish();
    const usage = process.resourceUsage();
    const report = buildRunReport(stats, {
      startedMs, durationS, rateHz: config.rateHz, sizeBytes: config.sizeBytes,
      timeoutNs: config.timeoutNs, lossAfterNs: config.lossAfterNs, stampSource,
      strayRejects: state.strayRejects,
      process: { rss_bytes: process.memoryUsage.rss(), cpu_user_s: usage.userCPUTime / 1e6, cpu_system_s: usage.systemCPUTime / 1e6 },
    });
    const anyUnanswered = report.targets.some((t) => t.sent > 0 && t.received === 0);
    return { report, exitCode: anyUnanswered ? 1 : 0 };
  } finally {
    clearInterval(expireTimer);
    clearInterval(statusTimer);
    io.signal?.removeEventListener('abort', onAbort);
    await Promise.all(transports.map((transport) => transport.close()));
  }
}
