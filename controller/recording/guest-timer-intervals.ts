/** One agent interval's guest timer max (--timer-latency on the agent). */
export interface TimerInterval {
  startMs: number;
  endMs: number;
  /** the largest wake-up latency in it, ns; null when the timer recorded nothing in it */
  maxNs: number | null;
}

/** A worst round trip as annotated: its time at the agent and, once known, the timer max there. */
export interface TimedRoundTrip {
  rttNs: number;
  /** wall-clock ms when the probe was sent */
  atMs: number;
  /** the guest timer max of the agent interval the probe arrived in; undefined until known */
  guestTimerMaxNs?: number | null;
}

/**
 * When the probe reached the agent, on the agent's interval clock: its send time plus half the
 * round trip. Both are wall clocks; on one host (the lab) they are the same clock, on a guest
 * they agree as far as NTP/PTP keeps them (an interval is 1 s by default, so ms errors matter
 * only for probes at an interval's edge).
 */
export function agentArrivalMs(roundTrip: TimedRoundTrip): number {
  return roundTrip.atMs + roundTrip.rttNs / 2e6;
}

/**
 * The last few agent intervals' timer maxima, so a worst round trip recorded after its
 * interval arrived still finds it; older ones are annotated as their intervals arrive.
 * Constant memory.
 */
export class RecentTimerIntervals {
  private readonly ring: TimerInterval[] = [];
  private next = 0;

  constructor(readonly capacity = 64) {}

  add(interval: TimerInterval): void {
    if (this.ring.length < this.capacity) this.ring.push(interval);
    else this.ring[this.next] = interval;
    this.next = (this.next + 1) % this.capacity;
  }

  /** The timer max of the interval holding atMs; undefined when no kept interval holds it. */
  maxAt(atMs: number): number | null | undefined {
    return this.ring.find((i) => atMs >= i.startMs && atMs < i.endMs)?.maxNs;
  }
}

/** Annotates the round trips that fell in `interval` and were not annotated yet. */
export function annotateWithInterval(roundTrips: Iterable<TimedRoundTrip>, interval: TimerInterval): void {
  for (const r of roundTrips) {
    if (r.guestTimerMaxNs !== undefined) continue;
    const at = agentArrivalMs(r);
    if (at >= interval.startMs && at < interval.endMs) r.guestTimerMaxNs = interval.maxNs;
  }
}

/** Whether the worst round trips coincide with guest timer spikes. */
export interface TimerCoincidence {
  /** worst round trips considered */
  worst: number;
  /** of them, those whose agent interval (with a timer max) is known */
  annotated: number;
  /** of those, the ones whose interval's timer max exceeded the RTT's p99 */
  above_rtt_p99: number;
  rtt_p99_ns: number | null;
}

export function timerCoincidence(worst: readonly { guest_timer_max_ns?: number | null }[], rttP99Ns: number | null): TimerCoincidence {
  const annotated = worst.filter((w) => typeof w.guest_timer_max_ns === 'number');
  return {
    worst: worst.length,
    annotated: annotated.length,
    above_rtt_p99: rttP99Ns === null ? 0 : annotated.filter((w) => (w.guest_timer_max_ns as number) > rttP99Ns).length,
    rtt_p99_ns: rttP99Ns,
  };
}
