import type { LatencySummary } from '../shared/histogram/latency-histogram.js';
import type { RejectCounts } from '../shared/wire/reject-reason.js';
import type { StampSource } from '../shared/transport/probe-transport.js';
import type { TargetStats } from './target-stats.js';

/** The clock behind each stamp source, spelled out for reports. */
export const CLOCK_OF_SOURCE: Record<StampSource | 'none', string> = {
  user: 'user space, CLOCK_MONOTONIC',
  kernel: 'kernel SO_TIMESTAMPING software stamp, CLOCK_REALTIME differences',
  hardware: 'NIC hardware stamp (PHC) differences',
  none: 'not stamped',
};

export interface TargetReport {
  name: string;
  address: string;
  port: number;
  mode: 'udp';
  session: number;
  sent: number;
  received: number;
  lost: number;
  late: number;
  duplicates: number;
  reordered: number;
  missed_send_slots: number;
  loss_ratio: number;
  timestamps: {
    tx: StampSource;
    rx: StampSource;
    rtt_clock: string;
    send_error: 'user';
    agent_t2: StampSource | 'none';
    agent_t3: StampSource | 'none';
    user_fallback_rtts: number;
  };
  rtt_ns: LatencySummary;
  turnaround_ns: LatencySummary;
  /** RTT − turnaround per probe: network and NICs, both directions */
  network_ns: LatencySummary;
  send_error_ns: LatencySummary;
  worst: { seq: number; rtt_ns: number; at: string }[];
  rejected: RejectCounts;
}

export interface RunReport {
  version: 1;
  tool: 'rtprobe';
  started: string;
  duration_s: number;
  rate_hz: number;
  size_bytes: number;
  timeout_ns: number;
  loss_after_ns: number;
  targets: TargetReport[];
  /** datagrams that matched no target: malformed, or for a session this run did not start */
  rejected_unattributed: RejectCounts;
  process: { rss_bytes: number; cpu_user_s: number; cpu_system_s: number };
}

export interface RunFacts {
  startedMs: number;
  durationS: number;
  rateHz: number;
  sizeBytes: number;
  timeoutNs: number;
  lossAfterNs: number;
  stampSource: StampSource;
  strayRejects: RejectCounts;
  process: RunReport['process'];
}

export function buildTargetReport(stats: TargetStats, stampSource: StampSource): TargetReport {
  const m = stats.matcher;
  return {
    name: stats.target.name,
    address: stats.target.address,
    port: stats.target.port,
    mode: 'udp',
    session: stats.session,
    sent: m.sent,
    received: m.received,
    lost: m.lost,
    late: m.late,
    duplicates: m.duplicates,
    reordered: m.reordered,
    missed_send_slots: stats.missedSendSlots,
    loss_ratio: m.sent === 0 ? 0 : m.lost / m.sent,
    timestamps: {
      tx: stampSource,
      rx: stampSource,
      rtt_clock: CLOCK_OF_SOURCE[stampSource],
      send_error: 'user',
      agent_t2: stats.agentStamps?.t2 ?? 'none',
      agent_t3: stats.agentStamps?.t3 ?? 'none',
      user_fallback_rtts: m.stampFallbacks,
    },
    rtt_ns: stats.rtt.summary(),
    turnaround_ns: stats.turnaround.summary(),
    network_ns: stats.network.summary(),
    send_error_ns: stats.sendError.summary(),
    worst: stats.worst.entries.map((w) => ({
      seq: Number(w.seq), rtt_ns: w.rttNs, at: new Date(w.atMs).toISOString(),
    })),
    rejected: { ...stats.rejects },
  };
}

export function buildRunReport(targets: TargetStats[], facts: RunFacts): RunReport {
  return {
    version: 1,
    tool: 'rtprobe',
    started: new Date(facts.startedMs).toISOString(),
    duration_s: facts.durationS,
    rate_hz: facts.rateHz,
    size_bytes: facts.sizeBytes,
    timeout_ns: facts.timeoutNs,
    loss_after_ns: facts.lossAfterNs,
    targets: targets.map((stats) => buildTargetReport(stats, facts.stampSource)),
    rejected_unattributed: { ...facts.strayRejects },
    process: facts.process,
  };
}
