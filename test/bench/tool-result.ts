/**
 * What one run of one tool (one round, one path) produced. Peers give per-sample RTTs;
 * rtprobe gives only its own percentiles (it keeps histograms, not samples).
 */

/** Percentiles in nanoseconds. */
export interface Percentiles {
  count: number;
  p50: number;
  p99: number;
  p99_9: number;
  max: number;
}

/** Send time minus the schedule, as far as the tool reports it (ns). */
export interface SendError {
  p99?: number;
  max: number;
  mean?: number;
}

export type ToolId = 'rtprobe-kernel' | 'rtprobe-user' | 'rtprobe-icmp' | 'irtt' | 'irtt-own' | 'sockperf' | 'ping' | 'fping';

export interface RoundResult {
  tool: ToolId;
  round: number;
  /** false when the tool could not run: `note` says why */
  ok: boolean;
  note?: string;
  /** per-sample RTTs (ns) when the tool reports samples */
  rttNs?: number[];
  /** percentiles when the tool reports only those (rtprobe) */
  rtt?: Percentiles;
  sent: number;
  received: number;
  /** wall time the client spent sending (s), for the achieved rate */
  durationS: number;
  sendError?: SendError;
  /** CPU seconds of the client process (user + system) */
  clientCpuS?: number;
  /** who stamped the probes, as the tool says or as we know it */
  stamps: string;
  /** anything tool-specific worth keeping in the JSON summary */
  extra?: Record<string, number | string | boolean>;
}
