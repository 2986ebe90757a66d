import { decodeHistogram } from '../../shared/histogram/histogram-transport.js';
import { LatencyHistogram, type LatencySummary } from '../../shared/histogram/latency-histogram.js';
import type { AgentSocketHealth, AgentTag, HelloMessage, IntervalMessage } from '../../shared/messages/agent-messages.js';
import { addRejects, type RejectCounts } from '../../shared/wire/reject-reason.js';
import { RecentTimerIntervals, type TimerInterval } from '../recording/guest-timer-intervals.js';

export interface AgentReport {
  url: string;
  /** every interval of the session arrived and the final flush was answered */
  complete: boolean;
  intervals: number;
  bad_histograms: number;
  dropped_by_agent: number;
  reconnects: number;
  /** the agent came back as a new instance without ending the session: what it had not sent is lost */
  restarts: number;
  clocks: HelloMessage['clocks'] | null;
  clock_sync: HelloMessage['clock_sync'] | null;
  received: number;
  gaps: number;
  reordered: number;
  duplicates: number;
  ipdv_ns: LatencySummary;
  turnaround_ns: LatencySummary;
  /** forward one-way delay; null unless the agent declared synchronised clocks */
  owd_ns: (LatencySummary & { clock_error_ns: number | null; clock_sync: string }) | null;
  rejected: RejectCounts;
  /**
   * probes the agent's kernel dropped unread, its reflector socket's receive buffer full: the
   * guest's loss, not the path's (in gaps and forward loss; over all of the agent's sessions);
   * null when the agent did not say (the user-space reflector, an older agent)
   */
  receive_buffer_drops: number | null;
  /** how long the agent's reflector thread paused, its JavaScript behind (nothing answered meanwhile); null as above */
  backlog_paused_ms: number | null;
  /** the guest's timer wake-up latency (agent --timer-latency); null when the agent does not run it */
  timer_ns?: (LatencySummary & { interval_ns: number; priority: number | null; cpu: number | null; max_at: string | null }) | null;
}

/** The agent's side of one target: its intervals merged as they arrive, in constant memory. */
export class AgentView {
  readonly histograms: Record<AgentTag, LatencyHistogram> = {
    ipdv: new LatencyHistogram(), turnaround: new LatencyHistogram(), owd: new LatencyHistogram(), timer: new LatencyHistogram(),
  };
  intervals = 0;
  badHistograms = 0;
  droppedByAgent = 0;
  reconnects = 0;
  restarts = 0;
  received = 0;
  gaps = 0;
  reordered = 0;
  duplicates = 0;
  flushed = false;
  hello: HelloMessage | null = null;
  /** why the stream could not connect, the latest reason (null: no attempt has failed) */
  connectFailure: string | null = null;
  readonly rejected: RejectCounts = {};
  /** the agent's reflector socket, the latest of its running totals; null until an interval carries them */
  socket: AgentSocketHealth | null = null;
  /** agent IPDV of the controller's current interval (soak logs), reset as it closes */
  readonly intervalIpdv = new LatencyHistogram();
  /** guest timer of the controller's current interval (soak logs), reset as it closes; made on first use */
  private intervalTimerMade: LatencyHistogram | null = null;
  /** wall ms of the guest timer's max over the run */
  timerMaxAtMs: number | null = null;
  /** the last agent intervals' timer maxima (worst round trip annotation) */
  readonly recentTimer = new RecentTimerIntervals();
  /** each interval's timer max as it arrives (the target annotates its worst round trips) */
  onTimerInterval: ((interval: TimerInterval) => void) | null = null;

  constructor(readonly url: string) {}

  addInterval(message: IntervalMessage): void {
    this.intervals++;
    for (const [tag, encoded] of Object.entries(message.histograms) as [AgentTag, NonNullable<IntervalMessage['histograms'][AgentTag]>][]) {
      const decoded = decodeHistogram(encoded.encoded);
      if (!decoded.ok || decoded.histogram.totalCount !== encoded.count) {
        this.badHistograms++;
        continue;
      }
      if (tag === 'timer' && encoded.max_at_ms !== undefined && encoded.max_ns > this.histograms.timer.maxNs) {
        this.timerMaxAtMs = encoded.max_at_ms;
      }
      this.histograms[tag].merge(decoded.histogram, encoded.max_ns);
      if (tag === 'ipdv') this.intervalIpdv.merge(decoded.histogram, encoded.max_ns);
      if (tag === 'timer') this.intervalTimer.merge(decoded.histogram, encoded.max_ns);
    }
    if (this.timerRuns) {
      const timer = message.histograms.timer;
      const interval = { startMs: message.start_ms, endMs: message.end_ms, maxNs: timer && timer.count > 0 ? timer.max_ns : null };
      this.recentTimer.add(interval);
      this.onTimerInterval?.(interval);
    }
    this.received += message.counts.received;
    this.gaps += message.counts.gaps;
    this.reordered += message.counts.reordered;
    this.duplicates += message.counts.duplicates;
    addRejects(this.rejected, message.counts.rejected ?? {});
    // running totals of the agent process (the largest: intervals of several sessions interleave)
    if (message.socket) {
      this.socket = {
        receive_buffer_drops: Math.max(this.socket?.receive_buffer_drops ?? 0, message.socket.receive_buffer_drops),
        backlog_paused_ms: Math.max(this.socket?.backlog_paused_ms ?? 0, message.socket.backlog_paused_ms),
      };
    }
  }

  /** the agent said in its hello that it measures its timer */
  get timerRuns(): boolean {
    return this.hello?.timer?.running === true;
  }

  get intervalTimer(): LatencyHistogram {
    this.intervalTimerMade ??= new LatencyHistogram();
    return this.intervalTimerMade;
  }

  /**
   * Why the agent's figures are unknown, null when the stream was joined. A stream that never
   * said hello (nothing listening, a wrong token, still connecting at the end) delivered
   * nothing: its zeros would read as "the agent saw no probe".
   */
  unknownReason(): string | null {
    if (this.hello !== null) return null;
    return this.connectFailure === null ? 'the agent stream had not connected when the run ended'
      : `the agent stream never connected: ${this.connectFailure}`;
  }

  report(): AgentReport {
    const sync = this.hello?.clock_sync ?? null;
    const owdRecorded = sync !== null && sync.mode !== 'none';
    return {
      url: this.url,
      complete: this.flushed && this.droppedByAgent === 0 && this.badHistograms === 0 && this.restarts === 0,
      intervals: this.intervals,
      bad_histograms: this.badHistograms,
      dropped_by_agent: this.droppedByAgent,
      reconnects: this.reconnects,
      restarts: this.restarts,
      clocks: this.hello?.clocks ?? null,
      clock_sync: sync,
      received: this.received,
      gaps: this.gaps,
      reordered: this.reordered,
      duplicates: this.duplicates,
      ipdv_ns: this.histograms.ipdv.summary(),
      turnaround_ns: this.histograms.turnaround.summary(),
      owd_ns: owdRecorded
        ? { ...this.histograms.owd.summary(), clock_error_ns: sync.error_ns, clock_sync: sync.mode }
        : null,
      rejected: { ...this.rejected },
      receive_buffer_drops: this.socket?.receive_buffer_drops ?? null,
      backlog_paused_ms: this.socket?.backlog_paused_ms ?? null,
      timer_ns: this.hello?.timer?.running ? {
        ...this.histograms.timer.summary(), interval_ns: this.hello.timer.interval_ns, priority: this.hello.timer.priority,
        cpu: this.hello.timer.cpu, max_at: this.timerMaxAtMs === null ? null : new Date(this.timerMaxAtMs).toISOString(),
      } : null,
    };
  }
}
