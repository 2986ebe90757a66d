import { HISTOGRAM_HIGHEST_NS, LatencyHistogram } from '../shared/histogram/latency-histogram.js';
import type { TimerDrain } from '../shared/native/timer-latency-addon.js';

/**
 * Folds the guest timer's drained bucket counts into LatencyHistograms: one HDR histogram is
 * filled from the buckets (one call per non-empty bucket, never per sample) and merged into
 * each target with the drain's exact max.
 */
export class TimerFold {
  private readonly scratch = new LatencyHistogram();

  /** Adds the drain to every target; false when it held no sample. */
  fold(drain: TimerDrain, targets: Iterable<LatencyHistogram>): boolean {
    if (drain.count === 0) return false;
    const h = this.scratch.histogram;
    for (let i = 0; i < drain.values.length; i++) {
      const count = drain.counts[i] ?? 0;
      if (count > 0) h.recordValueWithCount(Math.min(drain.values[i] ?? 0, HISTOGRAM_HIGHEST_NS), count);
    }
    for (const target of targets) target.merge(h, drain.maxNs);
    this.scratch.reset();
    return true;
  }
}
