import type { LatencySummary } from '../../shared/histogram/latency-histogram.js';
import type { RejectCounts } from '../../shared/wire/reject-reason.js';
import type { StampSource } from '../../shared/transport/probe-transport.js';
import type { TargetStats } from '../recording/target-stats.js';
import type { AgentReport } from '../agent-stream/agent-view.js';
import { CLOCK_OF_SOURCE } from '../../shared/report/clock-names.js';
import type { Provenance } from './provenance.js';
import type { Verdict } from './verdict.js';


export interface TargetReport {
  name: string;
  address: string;
  port: number;
  mode: 'udp' | 'icmp';
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
  /** max RTT per second of send time (spans grow on long runs to keep the series bounded) */
  max_over_time: { start: string; span_s: number; max_ns: number; count: number }[];
  rejected: RejectCounts;
  /** the agent's stream, when subscribed (--agent-ws) */
  agent?: AgentReport;
  /** probes that never reached the agent; null without a complete agent stream */
  loss_forward?: number | null;
  /** probes the agent answered whose reply never came back in time */
  loss_return?: number | null;
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
  /** where the report came from (version, command, host, RT settings as applied, load, lab, agents) */
  provenance?: Provenance;
  /** --max-rtt / --max-p99 / --max-loss: PASS or FAIL */
  verdict?: Verdict;
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
    mode: stats.target.mode,
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
    max_over_time: stats.maxOverTime.points.map((p) => ({
      start: new Date(p.startMs).toISOString(), span_s: p.spanMs / 1000, max_ns: p.maxNs, count: p.count,
    })),
    rejected: { ...stats.rejects },
    ...(stats.agent ? agentBreakdown(stats, stats.agent.report()) : {}),
  };
}

/** The agent's counts split the controller's loss by direction. */
function agentBreakdown(stats: TargetStats, agent: AgentReport): Pick<TargetReport, 'agent' | 'loss_forward' | 'loss_return'> {
  if (!agent.complete) return { agent, loss_forward: null, loss_return: null };
  const forward = Math.max(0, stats.matcher.sent - agent.received);
  return { agent, loss_forward: forward, loss_return: Math.max(0, stats.matcher.lost - forward) };
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
