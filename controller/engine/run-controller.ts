import { randomInt } from 'node:crypto';
import { monoNs, realNs, wallMsOfMono } from '../../shared/time/clock.js';
import { encodeProbe, encodeSessionEnd } from '../../shared/wire/probe-codec.js';
import { signDatagram } from '../../shared/wire/probe-auth.js';
import { OFFSET_SEQ, OFFSET_T1 } from '../../shared/wire/probe-layout.js';
import { holdCpuDmaLatency } from '../../shared/cli/cpu-dma-latency.js';
import { isPrivilegeWarning } from '../../shared/cli/socket-flags.js';
import type { TimestampChoice } from '../../shared/cli/timestamp-choice.js';
import type { ProbeTransport, TransportEvent } from '../../shared/transport/probe-transport.js';
import { openAgentLinks, type OpenAgentLinks } from '../agent-stream/agent-links.js';
import { openTransport } from '../transport/open-transport.js';
import { encodeEchoRequest, icmpIdentifier } from '../transport/icmp-codec.js';
import { periodNsForRate } from '../schedule/probe-schedule.js';
import { buildRunReport, type RunReport } from '../report/run-report.js';
import { DELIVERY_LAG_WARN_MS, deliveryLagText, socketName, type SenderProvenance } from '../report/provenance.js';
import type { RunConfig } from './run-config.js';
import { RunState } from '../matching/run-state.js';
import type { SocketReading } from '../soak/prometheus-metrics.js';
import { formatStatusLine } from '../report/status-line.js';
import { unreachableHint } from '../report/format-report.js';
import { TargetStats, type ResolvedTarget } from '../recording/target-stats.js';
import { warmUpProbePath, type MakeTargetStats } from './warm-up-probe-path.js';

export interface RunIo {
  /** warnings and notices */
  log: (line: string) => void;
  /** rewrites the live status line (a TTY) or prints it (a pipe); none with --quiet */
  status?: ((line: string) => void) | undefined;
  /** aborting stops sending early and reports what was measured */
  signal?: AbortSignal;
  /** called with the finished stats before the report is built */
  onStats?: ((stats: TargetStats[]) => void) | undefined;
  /** called once the sockets are open, before the first probe: live views hold on to the targets; `warnings`: what the sockets could not apply */
  onStart?: ((stats: TargetStats[], stampSource: ProbeTransport['stampSource'], warnings: readonly string[],
    sockets: () => SocketReading[]) => void) | undefined;
  /**
   * soak: called every `ms` with the targets; the caller closes their intervals. Called once
   * more at the end (after the last replies and the agents' final intervals), so the partial
   * last interval is closed too and the logs add up to the report.
   */
  interval?: { ms: number; onInterval: (targets: TargetStats[], nowMs: number) => void } | undefined;
}

/** Exit status of a run whose --agent-ws breakdown is missing for a target (stream never joined). */
export const EXIT_AGENT_UNKNOWN = 3;

export interface RunOutcome {
  report: RunReport;
  /** 1 when a target answered not a single probe; else 3 when an agent breakdown asked for is unknown */
  exitCode: 0 | 1 | typeof EXIT_AGENT_UNKNOWN;
  /** what the sockets could not apply (RT options), as logged: the report's provenance */
  warnings: string[];
  /** the finished per-target stats (the agents' hellos for the provenance) */
  stats: TargetStats[];
  /** each native sender's pacing in force (the provenance's `senders`) */
  senders: SenderProvenance[];
}

/** A set-up failure the user must fix (exit 2), e.g. --require-rt not satisfiable. */
export class RunSetupError extends Error {}

// The schedule starts a little after set-up so the first probe is not late by construction.
export const START_DELAY_NS = 20_000_000n;
// Loss is resolved with each batch of events at most this often (every batch while sending:
// it holds the send events), with the status line's timer, and at the end (drainInFlight).
const EXPIRE_EVERY_NS = 100_000_000n;
const STATUS_EVERY_MS = 1000;
const AGENT_FLUSH_TIMEOUT_MS = 3000;

/** Random session ids, unique also in their low 16 bits (the ICMP identifier). */
function uniqueSessions(count: number): number[] {
  const sessions = new Map<number, number>();
  while (sessions.size < count) {
    const session = randomInt(1, 0xffff_ffff);
    if (!sessions.has(icmpIdentifier(session))) sessions.set(icmpIdentifier(session), session);
  }
  return [...sessions.values()];
}

interface FamilyTransport {
  transport: ProbeTransport;
  mode: 'udp' | 'icmp';
  family: 4 | 6;
  /** run-wide index of each of this transport's targets */
  indices: number[];
}

const KINDS = [['udp', 4], ['udp', 6], ['icmp', 4], ['icmp', 6]] as const;

/**
 * How often the native threads hand their events to JavaScript unasked. A run without soak
 * intervals has nobody who needs them sooner: the status line asks for them (flush) right
 * before it is printed, the end of the run too, and with --quiet a batch goes when half full
 * (512 of the thread's 1024 events: 2.6 s at 100 Hz, in the gap between two slots), 10 s at the
 * latest. Each batch costs the JavaScript thread ~1 ms
 * however small, its code cold at that pace: 1 s batches cost 10.2-11.0 µs a probe at
 * 100 Hz, full ones 8.1-9.9 (three pairs side by side). Soak keeps 100 ms: its intervals,
 * dashboard and breach messages to the agents live on the events.
 */
export function batchIntervalMs(io: Pick<RunIo, 'interval'>): number {
  return io.interval ? 100 : 10_000;
}

/** Resolves once every transport has handed over what its thread has read (flush). */
function flushTransports(transports: FamilyTransport[]): Promise<unknown> {
  return Promise.all(transports.map(({ transport }) => transport.flush?.()));
}

/** One socket per probe mode and address family in use; all opened (and RT options checked) before any sends. */
async function openTransports(config: RunConfig, choice: TimestampChoice, targets: ResolvedTarget[],
  state: RunState, afterEvents: (events: TransportEvent[]) => void, io: RunIo, allWarnings: string[]): Promise<FamilyTransport[]> {
  const opened: FamilyTransport[] = [];
  const notHeld = holdCpuDmaLatency(config.socket.cpuDmaLatencyUs);
  if (notHeld !== null) {
    io.log(`warning: ${notHeld}`);
    allWarnings.push(notHeld);
    if (config.socket.requireRt) throw new RunSetupError('--require-rt: a real-time option could not be applied (see the warning above)');
  }
  try {
    for (const [mode, family] of KINDS) {
      const indices = targets.flatMap((t, i) => (t.family === family && t.mode === mode ? [i] : []));
      if (indices.length === 0) continue;
      // The transport numbers its own targets; map them to the run's (in place: each batch is
      // the transport's own fresh array, and a copy per event was the costliest line at 1000 targets).
      const identity = indices.every((index, i) => index === i);
      const onEvents = (events: TransportEvent[], readUntilMonoNs?: bigint): void => {
        if (!identity) {
          for (const event of events) {
            if ('target' in event) event.target = indices[event.target] ?? -1;
            else if (event.kind === 'records') event.targetMap = indices;
          }
        }
        state.apply(events, mode, family, readUntilMonoNs);
        state.expireIfDue(monoNs(), EXPIRE_EVERY_NS);
        afterEvents(events);
      };
      const { transport, warnings } = await openTransport(choice, config.socket, mode, family, onEvents,
        (message) => io.log(`warning: socket: ${message}`), { authKey: config.authKey, batchIntervalMs: batchIntervalMs(io), groupProbes: true });
      opened.push({ transport, mode, family, indices });
      for (const warning of warnings) io.log(`warning: ${warning}`);
      for (const warning of warnings) if (!allWarnings.includes(warning)) allWarnings.push(warning);
      if (config.socket.requireRt && warnings.some(isPrivilegeWarning)) {
        throw new RunSetupError('--require-rt: a real-time option could not be applied (see the warning above)');
      }
    }
    return opened;
  } catch (error) {
    await Promise.all(opened.map(({ transport }) => transport.close()));
    throw error;
  }
}

/**
 * Makes a target's stats with a probe ring sized for --loss-after: the run's targets', and the
 * warm-up's throwaway ones, so that V8 meets objects made alike by the same code (a field
 * that meets an object of another shape makes V8 throw away the code compiled for the first).
 */
function targetStatsMaker(config: RunConfig, periodNs: bigint, recordsIntervals: boolean): MakeTargetStats {
  // Room for every probe that may be in flight until declared lost, plus the expiry tick.
  const capacity = Math.ceil((config.lossAfterNs + 2e9) / Number(periodNs)) + 16;
  return (target, session) => {
    const stats = new TargetStats(target, session, { capacity, timeoutNs: config.timeoutNs, lossAfterNs: BigInt(config.lossAfterNs) });
    stats.recordsIntervals = recordsIntervals; // (written after construction for the warm-up's too: V8 folds a field never written again)
    return stats;
  };
}

/** One TargetStats per target, each with its own session id. */
function createTargetStats(targets: ResolvedTarget[], make: MakeTargetStats): TargetStats[] {
  const sessions = uniqueSessions(targets.length);
  return targets.map((target, i) => make(target, sessions[i] ?? 1));
}

interface ScheduleWindow { startMonoNs: bigint; endMonoNs: bigint | undefined; periodNs: bigint }

/** Hands each transport its targets' probe templates and the common schedule: sending begins. */
function startSchedules(config: RunConfig, targets: ResolvedTarget[], stats: TargetStats[],
  transports: FamilyTransport[], window: ScheduleWindow): void {
  for (const { transport, mode, family, indices } of transports) {
    const session = (i: number): number => stats[i]?.session ?? 0;
    transport.start({
      targets: indices.map((i) => targets[i]).filter((t): t is ResolvedTarget => t !== undefined),
      templates: indices.map((i) => (mode === 'icmp'
        ? encodeEchoRequest(session(i), 0n, 0n, config.sizeBytes, family)
        : encodeProbe(session(i), 0n, 0n, config.sizeBytes))),
      seqOffset: OFFSET_SEQ,
      t1Offset: OFFSET_T1,
      periodNs: window.periodNs,
      startMonoNs: window.startMonoNs,
      probesPerTarget: BigInt(config.count ?? 0),
      ...(window.endMonoNs === undefined ? {} : { endMonoNs: window.endMonoNs }),
    });
  }
}

/**
 * The run's periodic work on the JS side: loss expiry, the status line, soak intervals, and a
 * stop at the end time for a transport that does not end by itself. Returns what cancels them.
 */
function startRunTimers(state: RunState, stats: TargetStats[], transports: FamilyTransport[], window: ScheduleWindow,
  io: RunIo, warnBehind: () => void, stopAll: () => void): () => void {
  // A status line a second: the JS thread wakes for it and for the batches, next to never else.
  // It first takes what the threads hold (their batches may be seconds apart). Without a
  // status line (--quiet) there is no such timer: expiry and the lag check ride on the batches.
  const status = io.status;
  let stopped = false;
  const secondTimer = status && setInterval(() => {
    warnBehind();
    void flushTransports(transports).then(() => {
      state.expireIfDue(monoNs(), EXPIRE_EVERY_NS);
      if (!stopped) status(formatStatusLine(Number(monoNs() - window.startMonoNs) / 1e9, stats));
    });
  }, STATUS_EVERY_MS);
  const intervalTimer = io.interval ? setInterval(() => {
    // An interval closes at this instant with what the threads have read by now: they are asked
    // for it first, or up to a batch (100 ms) of its probes would land in the next interval.
    const closeMonoNs = monoNs();
    void flushTransports(transports).then(() => {
      if (stopped) return; // the run's end closes the last interval itself
      state.expire(closeMonoNs);
      // Interval times follow the monotonic clock (anchored to the wall clock once): a wall-clock
      // step must not make an interval 30 s long, or negative (which stopped a soak's logs).
      io.interval?.onInterval(stats, wallMsOfMono(closeMonoNs));
    });
  }, io.interval.ms) : null;
  const endTimer = window.endMonoNs === undefined ? null
    : setTimeout(stopAll, Number(window.endMonoNs - monoNs()) / 1e6 + 50);
  return () => {
    stopped = true;
    if (secondTimer) clearInterval(secondTimer);
    if (intervalTimer) clearInterval(intervalTimer);
    if (endTimer) clearTimeout(endTimer);
  };
}

/** A native socket's self-report now; null for a transport without one (the user-space sender). */
function socketReading({ transport, mode, family }: FamilyTransport): SocketReading | null {
  const health = transport.health?.();
  return health ? { protocol: mode, family, ...health } : null;
}

/** Each native socket's self-report now (live views: the soak's metrics). */
function socketReadings(transports: FamilyTransport[]): SocketReading[] {
  return transports.flatMap((t) => socketReading(t) ?? []);
}

/**
 * Says once per socket, while the run goes on, that JavaScript fell behind its thread. Runs
 * once a second: it reads the lag JavaScript measured itself, not the thread's whole stats.
 */
function behindWarner(transports: FamilyTransport[], log: (line: string) => void): () => void {
  const warned = new Set<FamilyTransport>();
  return () => {
    for (const t of transports) {
      const lagMs = t.transport.deliveryLagMs?.();
      if (lagMs === undefined || lagMs < DELIVERY_LAG_WARN_MS || warned.has(t)) continue;
      warned.add(t);
      log(`warning: ${socketName({ protocol: t.mode, family: t.family })}: ${deliveryLagText(lagMs)}`);
    }
  };
}

/**
 * After the last send: waits for replies in flight, up to --loss-after (--timeout after an
 * abort). Each look first takes what the native threads have read (their batches may come
 * seconds apart), so that a reply in time is never called lost.
 */
async function drainInFlight(config: RunConfig, state: RunState, stats: TargetStats[], transports: FamilyTransport[],
  aborted: boolean, sendingEndedNs: bigint): Promise<void> {
  const graceNs = BigInt(aborted ? Math.min(config.timeoutNs, config.lossAfterNs) : config.lossAfterNs);
  while (stats.some((s) => s.matcher.inFlight > 0) && monoNs() - sendingEndedNs < graceNs) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    await flushTransports(transports);
    state.expire(monoNs());
  }
  await flushTransports(transports);
  state.finish();
}

/**
 * Tells each UDP agent that answered that the session is over (signed with --key-file), from
 * the probe socket that holds its place, so the place frees at once instead of after 5 s of
 * silence. A failed send costs only that wait: it is a warning.
 */
async function sendSessionEnds(config: RunConfig, stats: TargetStats[], transports: FamilyTransport[],
  log: (line: string) => void): Promise<void> {
  await Promise.all(transports.flatMap(({ transport, mode, indices }) => {
    if (mode !== 'udp' || !transport.sendDatagram) return [];
    return indices.flatMap((i) => {
      const target = stats[i];
      // Only an agent that answered holds a place: a silent or refusing target gets nothing
      // more (no datagram into a black hole, no ICMP error to a closed port).
      if (!target || target.matcher.received === 0) return [];
      const end = encodeSessionEnd(target.session, BigInt(target.matcher.sent), realNs());
      if (config.authKey) signDatagram(end, config.authKey);
      return [transport.sendDatagram?.(end, target.target.address, target.target.port)
        .catch((error: unknown) => log(`warning: session-end to ${target.target.name} not sent: ${error instanceof Error ? error.message : String(error)}`))];
    });
  }));
}

function buildOutcome(config: RunConfig, state: RunState, stats: TargetStats[], transports: FamilyTransport[],
  startedMs: number, durationS: number, warnings: string[]): RunOutcome {
  const usage = process.resourceUsage();
  const report = buildRunReport(stats, {
    startedMs, durationS, rateHz: config.rateHz,
    sizeBytes: config.sizeBytes, timeoutNs: config.timeoutNs, lossAfterNs: config.lossAfterNs,
    stampSource: transports[0]?.transport.stampSource ?? 'user',
    strayRejects: state.strayRejects,
    process: { rss_bytes: process.memoryUsage.rss(), cpu_user_s: usage.userCPUTime / 1e6, cpu_system_s: usage.systemCPUTime / 1e6 },
  });
  const anyUnanswered = report.targets.some((t) => t.sent > 0 && t.received === 0);
  const agentUnknown = report.targets.some((t) => t.agent_unknown !== undefined);
  // the native senders: each has its pacing and its self-report
  const senders = transports.flatMap((t): SenderProvenance[] => {
    const pacing = t.transport.pacing?.();
    const reading = socketReading(t);
    if (!pacing || !reading) return [];
    const { protocol, family, ...health } = reading; // in the README's order: what, pacing, self-report
    return [{ protocol, family, targets: t.indices.length, ...pacing, ...health }];
  });
  return { report, exitCode: anyUnanswered ? 1 : agentUnknown ? EXIT_AGENT_UNKNOWN : 0, warnings, stats, senders };
}

/** Runs the probe schedule against resolved targets and returns the report. */
export async function runController(config: RunConfig, choice: TimestampChoice, targets: ResolvedTarget[],
  io: RunIo): Promise<RunOutcome> {
  // V8 compiles the per-probe path now, not while the first minute's probes flow (first: the
  // targets' first intervals begin when their stats are made, right before sending)
  const periodNs = periodNsForRate(config.rateHz);
  const makeStats = targetStatsMaker(config, periodNs, io.interval !== undefined);
  await warmUpProbePath(new Set(targets.map((t) => t.mode)), makeStats);
  const stats = createTargetStats(targets, makeStats);
  for (const s of stats) {
    s.allocateHistograms(); // before the first probe, not while probes flow
  }
  const state = new RunState(stats, config.authKey);
  state.onFirstUnreachable = (target, reason) => {
    const { address, port } = target.target;
    io.log(`target ${target.target.name} (${address}:${port}): ${reason} — ${unreachableHint({ ...target.target, unreachable_reason: reason })}`);
  };
  let wake = (): void => {};
  let warnBehind = (): void => {};
  const warnings: string[] = [];
  const afterEvents = (events: TransportEvent[]): void => {
    if (!io.status) warnBehind(); // (with a status line, its timer looks)
    if (events.some((event) => event.kind === 'done')) wake();
  };
  const transports = await openTransports(config, choice, targets, state, afterEvents, io, warnings);
  warnBehind = behindWarner(transports, io.log);
  const links: OpenAgentLinks = openAgentLinks(config, stats, io.log);

  const startMonoNs = monoNs() + START_DELAY_NS;
  const endMonoNs = config.durationNs === null ? undefined : startMonoNs + BigInt(config.durationNs);
  const window: ScheduleWindow = { startMonoNs, endMonoNs, periodNs };
  startSchedules(config, targets, stats, transports, window);
  const startedMs = Date.now();
  io.onStart?.(stats, transports[0]?.transport.stampSource ?? 'user', warnings, () => socketReadings(transports));
  const stopAll = (): void => {
    for (const { transport } of transports) transport.stop();
  };
  const stopTimers = startRunTimers(state, stats, transports, window, io, warnBehind, stopAll);
  io.signal?.addEventListener('abort', stopAll, { once: true });

  try {
    // Sending ends by count, duration or abort; each transport then reports 'done'.
    await new Promise<void>((resolve) => {
      wake = () => { if (state.doneTransports >= transports.length) resolve(); };
      wake();
    });
    const sendingEndedNs = monoNs();
    await drainInFlight(config, state, stats, transports, io.signal?.aborted ?? false, sendingEndedNs);
    io.onStats?.(stats);
    await links.flushAll(AGENT_FLUSH_TIMEOUT_MS);
    stopTimers(); // (an interval close still waiting for its flush must not follow the last one)
    io.interval?.onInterval(stats, wallMsOfMono(monoNs()));
    return buildOutcome(config, state, stats, transports, startedMs, Number(sendingEndedNs - startMonoNs) / 1e9, warnings);
  } finally {
    stopTimers();
    io.signal?.removeEventListener('abort', stopAll);
    await links.closeAll();
    await sendSessionEnds(config, stats, transports, io.log);
    await Promise.all(transports.map(({ transport }) => transport.close()));
  }
}
