/** Latencies for people: µs below 10 ms, ms below 1 s, s above; "-" when there is none. */
export function formatNs(ns: number | null): string {
  if (ns === null || !Number.isFinite(ns)) return '-';
  const abs = Math.abs(ns);
  if (abs < 10e6) return `${(ns / 1e3).toFixed(1)} µs`;
  if (abs < 1e9) return `${(ns / 1e6).toFixed(3)} ms`;
  return `${(ns / 1e9).toFixed(3)} s`;
}

export function formatPercent(ratio: number): string {
  return `${(ratio * 100).toFixed(3)}%`;
}

/** ns as ms with two decimals: the unit and precision of every `*_ms` figure the sockets report. */
export function roundedMs(ns: number): number {
  return Math.round(ns / 1e4) / 100;
}
