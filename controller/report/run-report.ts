import type { LatencySummary } from '../../shared/histogram/latency-histogram.js';
import type { RejectCounts } from '../../shared/wire/reject-reason.js';
import type { Refusal } from '../../shared/wire/probe-codec.js';
import type { RefusalReason } from '../../shared/wire/probe-layout.js';
import type { StampSource } from '../../shared/transport/probe-transport.js';
import type { TargetStats } from '../recording/target-stats.js';
import type { AgentReport, AgentView } from '../agent-stream/agent-view.js';
import { CLOCK_OF_SOURCE } from '../../shared/report/clock-names.js';
import { timerCoincidence, type TimerCoincidence } from '../recording/guest-timer-intervals.js';
import type { Provenance } from './provenance.js';
import type { Verdict } from './verdict.js';
import { buildAllTargets, type AllTargetsReport } from './all-targets.js';


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
  /** probes answered by an ICMP error (native transport), e.g. port unreachable */
  unreachable: number;
  /** what the first ICMP error said, e.g. "ICMP port unreachable"; null when none came */
  unreachable_reason: string | null;
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
  /** guest_timer_max_ns: the agent's timer max in the interval the probe reached it (agent --timer-latency); null = not known */
  worst: { seq: number; rtt_ns: number; at: string; guest_timer_max_ns?: number | null }[];
  /** whether the worst round trips fell in guest timer spikes; only with an agent timer */
  timer_coincidence?: TimerCoincidence;
  /** max RTT per second of send time (spans grow on long runs to keep the series bounded) */
  max_over_time: { start: string; span_s: number; max_ns: number; count: number }[];
  rejected: RejectCounts;
  /**
   * probes the agent refused, by reason, from the refusal replies that arrived; these are
   * neither received nor lost (a refused probe whose refusal did not arrive is lost)
   */
  refused?: Partial<Record<RefusalReason, number>>;
  /** the last refusal with its detail, when there was one */
  last_refusal?: Refusal;
  /** the agent's stream, when subscribed (--agent-ws); null when it never connected (see agent_unknown) */
  agent?: AgentReport | null;
  /** with `agent` null: the stream asked for and why its figures are unknown (never zeros) */
  agent_unknown?: { url: string; reason: string };
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
  /** the figures over all targets' probes together; only with two targets or more */
  all_targets?: AllTargetsReport;
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
  const timerRuns = stats.agent?.timerRuns === true;
  const rtt = stats.rtt.summary();
  const worst = stats.worst.entries.map((w) => ({
    seq: Number(w.seq), rtt_ns: w.rttNs, at: new Date(w.atMs).toISOString(),
    ...(timerRuns ? { guest_timer_max_ns: w.guestTimerMaxNs ?? null } : {}),
  }));
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
    unreachable: stats.unreachable,
    unreachable_reason: stats.unreachableReason,
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
    rtt_ns: rtt,
    turnaround_ns: stats.turnaround.summary(),
    network_ns: stats.network.summary(),
    send_error_ns: stats.sendError.summary(),
    worst,
    ...(timerRuns ? { timer_coincidence: timerCoincidence(worst, rtt.p99) } : {}),
    max_over_time: stats.maxOverTime.points.map((p) => ({
      start: new Date(p.startMs).toISOString(), span_s: p.spanMs / 1000, max_ns: p.maxNs, count: p.count,
    })),
    rejected: { ...stats.rejects },
    refused: { ...stats.refused },
    ...(stats.lastRefusal ? { last_refusal: { ...stats.lastRefusal } } : {}),
    ...(stats.agent ? agentBreakdown(stats, stats.agent) : {}),
  };
}

/** The agent's counts split the controller's loss by direction; a stream never joined is unknown, not zero. */
function agentBreakdown(stats: TargetStats, view: AgentView): Pick<TargetReport, 'agent' | 'agent_unknown' | 'loss_forward' | 'loss_return'> {
  const unknown = view.unknownReason();
  if (unknown !== null) return { agent: null, agent_unknown: { url: view.url, reason: unknown }, loss_forward: null, loss_return: null };
  const agent = view.report();
  if (!agent.complete) return { agent, loss_forward: null, loss_return: null };
  const forward = Math.max(0, stats.matcher.sent - agent.received);
  return { agent, loss_forward: forward, loss_return: Math.max(0, stats.matcher.lost - forward) };
}

export function buildRunReport(targets: TargetStats[], facts: RunFacts): RunReport {
  const reports = targets.map((stats) => buildTargetReport(stats, facts.stampSource));
  return {
    version: 1,
    tool: 'rtprobe',
    started: new Date(facts.startedMs).toISOString(),
    duration_s: facts.durationS,
    rate_hz: facts.rateHz,
    size_bytes: facts.sizeBytes,
    timeout_ns: facts.timeoutNs,
    loss_after_ns: facts.lossAfterNs,
    targets: reports,
    ...(targets.length > 1 ? { all_targets: buildAllTargets(reports, targets, facts.stampSource) } : {}),
    rejected_unattributed: { ...facts.strayRejects },
    process: facts.process,
  };
}
