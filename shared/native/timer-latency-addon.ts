/**
 * The addon's TimerLatency (src/timer_latency.{h,cc}): a native thread that sleeps with
 * clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME) to a fixed grid of due times, like
 * cyclictest's measuring thread, and counts each wake-up's lateness (actual − due, ns) in
 * log-linear buckets of 3 significant digits. JavaScript sees no sample: drain() hands over
 * the counts since the previous drain.
 */
import type { NativeAddon } from './native-addon.js';

export interface TimerLatencyOptions {
  /** 10 µs .. 1 s */
  intervalNs: number;
  /** SCHED_FIFO 1..99; 0 = SCHED_OTHER. Failure is a warning (see warnings). */
  rtPriority: number;
  /** pin to this CPU; -1 = no pinning */
  cpu: number;
  /** mlock the thread's stack and bucket arrays */
  mlock: boolean;
}

/** Everything recorded since the previous drain. */
export interface TimerDrain {
  /** each non-empty bucket's middle value, ns */
  values: Float64Array;
  /** its count */
  counts: Float64Array;
  count: number;
  /** exact, ns; -1 when nothing was recorded */
  maxNs: number;
  /** CLOCK_REALTIME ms of the wake-up that was the max */
  maxAtMs: number;
  /** due times skipped because a wake-up came a whole interval late (as cyclictest) */
  overruns: number;
}

export interface NativeTimerLatency {
  /** real-time settings the thread could not apply */
  readonly warnings: string[];
  /** SCHED_FIFO priority in force; 0 = SCHED_OTHER */
  readonly fifoPriority: number;
  drain(): TimerDrain;
  /** stops and joins the thread (within one interval); safe to call twice */
  stop(): void;
}

type TimerLatencyClass = new (options: TimerLatencyOptions) => NativeTimerLatency;

/** Starts the measuring thread; an Error when this build of the addon has none. */
export function openTimerLatency(addon: NativeAddon, options: TimerLatencyOptions): NativeTimerLatency | Error {
  const TimerLatency = (addon as unknown as { TimerLatency?: TimerLatencyClass }).TimerLatency;
  if (typeof TimerLatency !== 'function') return new Error('the native addon has no TimerLatency (stale build? run npm ci)');
  try {
    return new TimerLatency(options);
  } catch (error) {
    return error as Error;
  }
}
