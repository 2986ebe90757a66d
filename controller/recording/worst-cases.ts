/** One of the worst round trips of a run. */
export interface WorstRoundTrip {
  seq: bigint;
  rttNs: number;
  /** wall-clock ms (epoch) when the probe was sent */
  atMs: number;
}

/** Keeps the N largest round trips, largest first, in constant memory. */
export class WorstCases {
  readonly entries: WorstRoundTrip[] = [];

  constructor(readonly capacity = 10) {}

  offer(candidate: WorstRoundTrip): void {
    const last = this.entries[this.entries.length - 1];
    if (this.entries.length >= this.capacity && last !== undefined && candidate.rttNs <= last.rttNs) return;
    let index = this.entries.findIndex((entry) => candidate.rttNs > entry.rttNs);
    if (index < 0) index = this.entries.length;
    this.entries.splice(index, 0, candidate);
    if (this.entries.length > this.capacity) this.entries.pop();
  }
}
