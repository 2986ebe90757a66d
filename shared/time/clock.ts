/**
 * User-space clocks. Round trips are measured on the monotonic clock (a wall-clock step must
 * not change an RTT); wall time is only used for T1 in the packet and for "when" in reports.
 */
export function monoNs(): bigint {
  return process.hrtime.bigint();
}

// CLOCK_REALTIME in ns, anchored once to the monotonic clock so that consecutive reads are
// as precise as hrtime and never jump backwards within a run.
const ANCHOR_REAL_NS = BigInt(Date.now()) * 1_000_000n;
const ANCHOR_MONO_NS = process.hrtime.bigint();

export function realNs(): bigint {
  return ANCHOR_REAL_NS + (process.hrtime.bigint() - ANCHOR_MONO_NS);
}

const ANCHOR_REAL_MS = Number(ANCHOR_REAL_NS / 1_000_000n);
const ANCHOR_MONO = Number(ANCHOR_MONO_NS);

/** Wall-clock ms (epoch) of a monotonic instant, for "at" fields in reports. */
export function wallMsOfMono(mono: bigint): number {
  return wallMsOfMonoNumber(Number(mono));
}

/** wallMsOfMono of monotonic ns held as a number. */
export function wallMsOfMonoNumber(monoNs: number): number {
  // In numbers, not BigInts (this runs per probe on both sides): monotonic ns are exact as
  // numbers for 104 days of uptime and within tens of ns for years, far below the ms wanted.
  return ANCHOR_REAL_MS + (monoNs - ANCHOR_MONO) / 1e6;
}
