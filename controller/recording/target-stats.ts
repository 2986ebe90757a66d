import { LatencyHistogram } from '../../shared/histogram/latency-histogram.js';
import { monoNs, wallMsOfMono } from '../../shared/time/clock.js';
import type { RejectCounts } from '../../shared/wire/reject-reason.js';
import type { Refusal } from '../../shared/wire/probe-codec.js';
import type { RefusalReason } from '../../shared/wire/probe-layout.js';
import type { StampSource } from '../../shared/transport/probe-transport.js';
import { ReplyMatcher, type CompletedRoundTrip } from '../matching/reply-matcher.js';
import { WorstCases, type WorstRoundTrip } from './worst-cases.js';
import { agentArrivalMs, annotateWithInterval } from './guest-timer-intervals.js';
import type { AgentView } from '../agent-stream/agent-view.js';
import { MaxOverTime } from './max-over-time.js';
import { IntervalStats } from './interval-stats.js';

/** A resolved probe destination. */
export interface ResolvedTarget {
  name: string;
  address: string;
  /** 0 in ICMP mode */
  port: number;
  family: 4 | 6;
  mode: 'udp' | 'icmp';
}

/** Everything measured for one target; constant size whatever the run length. */
export class TargetStats {
  readonly rtt = new LatencyHistogram();
  /** T3 − T2 as stamped by the agent */
  readonly turnaround = new LatencyHistogram();
  /** RTT − turnaround of each probe: the network and both NICs, both ways */
  readonly network = new LatencyHistogram();
  /** actual send − due time of each probe */
  readonly sendError = new LatencyHistogram();
  readonly worst = new WorstCases(10);
  /** per-second max RTT by send time, bounded (see MaxOverTime) */
  readonly maxOverTime = new MaxOverTime(Math.floor(Date.now() / 1000) * 1000);
  readonly rejects: RejectCounts = {};
  /** probes the agent refused, by its reason, counted from the refusals that arrived */
  readonly refused: Partial<Record<RefusalReason, number>> = {};
  /** the last refusal, with its detail (e.g. how many session places were busy) */
  lastRefusal: Refusal | null = null;
  readonly matcher: ReplyMatcher;
  missedSendSlots = 0;
  /** probes answered by an ICMP error (e.g. port unreachable), and what the first one said */
  unreachable = 0;
  unreachableReason: string | null = null;
  lastRttNs: number | null = null;
  /** what stamped the agent's T2 and T3, as its replies say */
  agentStamps: { t2: StampSource | 'none'; t3: StampSource | 'none' } | null = null;
  /** the agent's own view over its stream, when --agent-ws names it */
  agent: AgentView | null = null;
  /** how to tell this target's agent about a breach (set when --agent-ws subscribes) */
  sendToAgent: ((seq: bigint, rttNs: number) => boolean) | null = null;
  /** soak with --alert-max: RTTs above it are reported to the agent (trace freeze), 1/s at most */
  breach: { thresholdNs: number; send: (seq: bigint, rttNs: number) => void; lastSentMs: number } | null = null;
  /** the current interval (soak logs and alerts), on the run's monotonic-anchored wall clock */
  readonly interval = new IntervalStats(wallMsOfMono(monoNs()));
  /** whether probes are recorded into `interval` too (a soak); set before the first probe */
  recordsIntervals = false;

  constructor(
    readonly target: ResolvedTarget,
    readonly session: number,
    matcherOptions: ConstructorParameters<typeof ReplyMatcher>[0],
  ) {
    this.matcher = new ReplyMatcher(matcherOptions);
  }

  /**
   * Makes now the histograms this target's probes will record into (by mode, and the
   * interval ones in a soak), instead of at their first probe: thousands of them made while
   * the probes already flow held JavaScript up to 2.8 s behind its socket thread at 1000
   * targets (each 110 KiB, zeroed, and external memory that drives V8's collections).
   */
  allocateHistograms(): void {
    const udp = this.target.mode === 'udp';
    const used = [this.rtt, this.sendError, ...(udp ? [this.turnaround, this.network] : [])];
    if (this.recordsIntervals) {
      const interval = this.interval.histograms;
      used.push(interval.rtt, interval.send_error, ...(udp ? [interval.turnaround] : []));
    }
    for (const histogram of used) histogram.allocate();
  }

  /** Subscribes to the agent's stream view: its timer intervals annotate the worst round trips. */
  attachAgent(view: AgentView): void {
    this.agent = view;
    view.onTimerInterval = (interval) => annotateWithInterval(this.worst.entries, interval);
  }

  recordRoundTrips(roundTrips: readonly CompletedRoundTrip[]): void {
    // (an index, not for-of: called per probe, mostly with none, and the iterator was garbage)
    for (let i = 0; i < roundTrips.length; i++) this.recordRoundTrip(roundTrips[i] as CompletedRoundTrip);
  }

  recordSendError(errorNs: number): void {
    this.sendError.record(errorNs);
    if (this.recordsIntervals) this.interval.histograms.send_error.record(errorNs);
  }

  recordRoundTrip(roundTrip: CompletedRoundTrip): void {
    this.rtt.record(roundTrip.rttNs);
    if (this.recordsIntervals) {
      this.interval.histograms.rtt.record(roundTrip.rttNs);
      if (roundTrip.turnaroundNs !== null) this.interval.histograms.turnaround.record(roundTrip.turnaroundNs);
    }
    if (roundTrip.turnaroundNs !== null) this.network.record(roundTrip.rttNs - roundTrip.turnaroundNs);
    this.lastRttNs = roundTrip.rttNs;
    if (this.worst.wouldKeep(roundTrip.rttNs)) {
      const worst: WorstRoundTrip = { seq: roundTrip.seq, rttNs: roundTrip.rttNs, atMs: roundTrip.sentWallMs };
      this.worst.offer(worst);
      if (this.agent?.timerRuns) {
        const maxNs = this.agent.recentTimer.maxAt(agentArrivalMs(worst));
        if (maxNs !== undefined) worst.guestTimerMaxNs = maxNs;
      }
    }
    this.maxOverTime.record(roundTrip.sentWallMs, roundTrip.rttNs);
    const breach = this.breach;
    if (breach && roundTrip.rttNs > breach.thresholdNs && roundTrip.sentWallMs - breach.lastSentMs >= 1000) {
      breach.lastSentMs = roundTrip.sentWallMs;
      breach.send(roundTrip.seq, roundTrip.rttNs);
    }
  }
}
