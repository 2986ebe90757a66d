import type { LatencyHistogram } from '../shared/histogram/latency-histogram.js';
import type { TimerDrain } from '../shared/native/timer-latency-addon.js';

/**
 * Folds the guest timer's drained bucket counts into LatencyHistograms: one recordCount per
 * non-empty bucket and target, never per sample, and nothing that walks a whole HDR counts
 * array (under TCG emulation that walk, every 100 ms per session, was a load of its own).
 * Each bucket counts at its middle value, never above the drain's exact max; one sample of the
 * top bucket counts at the exact max, so the histograms' max is exact.
 */
export function foldTimerDrain(drain: TimerDrain, targets: Iterable<LatencyHistogram>): boolean {
  if (drain.count === 0) return false;
  let top = -1;
  for (let i = 0; i < drain.values.length; i++) if ((drain.counts[i] ?? 0) > 0 && (top < 0 || (drain.values[i] ?? 0) > (drain.values[top] ?? 0))) top = i;
  for (const target of targets) {
    for (let i = 0; i < drain.values.length; i++) {
      const count = (drain.counts[i] ?? 0) - (i === top ? 1 : 0);
      target.recordCount(Math.min(drain.values[i] ?? 0, drain.maxNs), count);
    }
    target.recordCount(drain.maxNs, 1);
  }
  return true;
}
