import { LatencyHistogram } from '../../shared/histogram/latency-histogram.js';

/** The metrics of one interval, tagged as in the interval logs. */
export const INTERVAL_TAGS = ['rtt', 'turnaround', 'send_error'] as const;
export type IntervalTag = (typeof INTERVAL_TAGS)[number];

/** What one closed interval of one target holds. */
export interface ClosedInterval {
  startMs: number;
  endMs: number;
  histograms: Record<IntervalTag, LatencyHistogram>;
  sent: number;
  received: number;
  lost: number;
  late: number;
}

/**
 * The current interval of one target, beside the run-wide histograms: soak logs and alerts
 * work per interval. Histograms are reused (reset, not reallocated) so memory stays constant,
 * and made on first use: a run without intervals (only soak has them) never pays for them —
 * three histograms per target.
 */
export class IntervalStats {
  private made: Record<IntervalTag, LatencyHistogram> | null = null;
  /** max RTT of the last closed interval (null: none closed yet, or it had no RTT): the metrics' gauge */
  lastClosedRttMaxNs: number | null = null;
  private startMs: number;
  private base = { sent: 0, received: 0, lost: 0, late: 0 };

  constructor(startMs: number) {
    this.startMs = startMs;
  }

  get histograms(): Record<IntervalTag, LatencyHistogram> {
    this.made ??= { rtt: new LatencyHistogram(), turnaround: new LatencyHistogram(), send_error: new LatencyHistogram() };
    return this.made;
  }

  /**
   * Closes the interval at endMs given the run-wide counters now; `use` sees it before the
   * histograms are reset for the next one.
   */
  close(endMs: number, totals: { sent: number; received: number; lost: number; late: number },
    use: (interval: ClosedInterval) => void): void {
    use({
      startMs: this.startMs, endMs, histograms: this.histograms,
      sent: totals.sent - this.base.sent, received: totals.received - this.base.received,
      lost: totals.lost - this.base.lost, late: totals.late - this.base.late,
    });
    this.lastClosedRttMaxNs = this.made === null || this.made.rtt.count === 0 ? null : this.made.rtt.maxNs;
    if (this.made) for (const h of Object.values(this.made)) h.reset();
    this.base = { ...totals };
    this.startMs = endMs;
  }
}
