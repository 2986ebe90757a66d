/** What one tool run is asked to do. */
import type { BenchPath } from './bench-path.js';

export interface RunSpec {
  path: BenchPath;
  round: number;
  /** how long the client sends */
  seconds: number;
  rateHz: number;
  /** a directory for this run's output files */
  tmpDir: string;
}

/** Slack on top of the send time before a child counts as hung. */
export function clientTimeoutS(spec: RunSpec): number {
  return spec.seconds * 2 + 20;
}
