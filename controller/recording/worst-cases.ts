/** One of the worst round trips of a run. */
export interface WorstRoundTrip {
  seq: bigint;
  rttNs: number;
  /** wall-clock ms (epoch) when the probe was sent */
  atMs: number;
  /** the guest timer max of the agent interval it fell in (agent --timer-latency); undefined until known */
  guestTimerMaxNs?: number | null;
}

/** Keeps the N largest round trips, largest first, in constant memory. */
export class WorstCases {
  readonly entries: WorstRoundTrip[] = [];

  constructor(readonly capacity = 10) {}

  /** Whether offer() would keep a round trip of `rttNs`: asked first, no object is made per probe. */
  wouldKeep(rttNs: number): boolean {
    const last = this.entries[this.entries.length - 1];
    return this.entries.length < this.capacity || last === undefined || rttNs > last.rttNs;
  }

  /** Keeps the candidate if it is among the worst; true when kept. */
  offer(candidate: WorstRoundTrip): boolean {
    if (!this.wouldKeep(candidate.rttNs)) return false;
    let index = this.entries.findIndex((entry) => candidate.rttNs > entry.rttNs);
    if (index < 0) index = this.entries.length;
    this.entries.splice(index, 0, candidate);
    if (this.entries.length > this.capacity) this.entries.pop();
    return true;
  }
}
