import { PERCENTILE_KEYS, type LatencySummary } from '../../shared/histogram/latency-histogram.js';
import { formatNs, formatPercent } from '../../shared/report/format-ns.js';
import type { RejectCounts } from '../../shared/wire/reject-reason.js';
import type { RunReport, TargetReport } from './run-report.js';
import type { AllTargetsReport } from './all-targets.js';
import { CLOCK_OF_SOURCE } from '../../shared/report/clock-names.js';
import { describeRefusal, formatRefusedCounts, refusalHint } from './refusal-text.js';
import type { RefusalReason } from '../../shared/wire/probe-layout.js';
import type { TimerCoincidence } from '../recording/guest-timer-intervals.js';

const ROWS: [string, (s: LatencySummary) => number | null][] = [
  ['min', (s) => s.min],
  ...PERCENTILE_KEYS.map(([key, p]): [string, (s: LatencySummary) => number | null] => [`p${p}`, (s) => s[key]]),
  ['max', (s) => s.max],
  ['mean', (s) => s.mean],
];

function formatRejects(counts: RejectCounts): string {
  const parts = Object.entries(counts).map(([reason, n]) => `${reason} ${n}`);
  return parts.length === 0 ? 'none' : parts.join(', ');
}

/** What replies rejected by --key-file most likely mean, said where the counts are. */
function authHint(rejected: RejectCounts): string | null {
  if ((rejected.unauthenticated ?? 0) > 0) return 'unauthenticated: unsigned replies; start the agent with the same --key-file';
  if ((rejected['bad-auth'] ?? 0) > 0) return 'bad-auth: replies signed with another key, or changed on the way; compare the key files';
  return null;
}

/** What an ICMP error for a probe most likely means. */
export function unreachableHint(t: Pick<TargetReport, 'address' | 'port' | 'mode' | 'unreachable_reason'>): string {
  if (/port unreachable/.test(t.unreachable_reason ?? '')) return `nothing listens on port ${t.port} there — is the agent running, on this port?`;
  return `no route to ${t.address}, or a firewall refuses the probes`;
}

export function formatTargetReport(t: TargetReport): string {
  const lines: string[] = [];
  const address = t.mode === 'icmp' ? t.address : t.address.includes(':') ? `[${t.address}]:${t.port}` : `${t.address}:${t.port}`;
  lines.push(`target ${t.name} (${address}, ${t.mode}, session 0x${t.session.toString(16).padStart(8, '0')})`);
  lines.push(`  probes   sent ${t.sent}  received ${t.received}  lost ${t.lost} (${formatPercent(t.loss_ratio)})  ` +
    `late ${t.late}  duplicates ${t.duplicates}  reordered ${t.reordered}  missed send slots ${t.missed_send_slots}`);
  if (t.unreachable > 0) lines.push(`  unreachable  ${t.unreachable} probes answered by ${t.unreachable_reason ?? 'an ICMP error'}: ${unreachableHint(t)}`);
  const fallback = t.timestamps.user_fallback_rtts > 0
    ? `; ${t.timestamps.user_fallback_rtts} RTTs fell back to user stamps (TX stamp missing)` : '';
  lines.push(`  clocks   RTT: ${t.timestamps.tx} TX/${t.timestamps.rx} RX stamps (${t.timestamps.rtt_clock})${fallback}`);
  lines.push(t.mode === 'icmp'
    ? `           turnaround: none (ICMP: the guest's kernel answers); send error: ${CLOCK_OF_SOURCE.user}`
    : `           turnaround: agent T2 ${t.timestamps.agent_t2}, T3 ${t.timestamps.agent_t3}; send error: ${CLOCK_OF_SOURCE.user}`);
  const columns: [string, LatencySummary][] = [
    ['RTT', t.rtt_ns], ['turnaround', t.turnaround_ns], ['network', t.network_ns], ['send error', t.send_error_ns],
  ];
  lines.push(`  ${''.padEnd(8)}${columns.map(([title]) => title.padStart(14)).join('')}`);
  for (const [label, pick] of ROWS) {
    lines.push(`  ${label.padEnd(8)}${columns.map(([, summary]) => formatNs(pick(summary)).padStart(14)).join('')}`);
  }
  lines.push(`  ${'samples'.padEnd(8)}${columns.map(([, summary]) => String(summary.count).padStart(14)).join('')}`);
  if (t.worst.length > 0) {
    lines.push('  worst round trips');
    t.worst.forEach((w, i) => {
      const timer = w.guest_timer_max_ns === undefined ? '' : `  guest timer max ${w.guest_timer_max_ns === null ? 'unknown' : formatNs(w.guest_timer_max_ns)}`;
      lines.push(`    ${String(i + 1).padStart(2)}. seq ${String(w.seq).padEnd(10)} ${formatNs(w.rtt_ns).padStart(12)}  sent ${w.at}${timer}`);
    });
    if (t.timer_coincidence) lines.push(`    ${formatTimerCoincidence(t.timer_coincidence)}`);
  }
  lines.push(...formatRefused(t));
  lines.push(`  rejected ${formatRejects(t.rejected)}`);
  const hint = authHint(t.rejected);
  if (hint) lines.push(`           ${hint}`);
  if (t.agent) lines.push(...formatAgentBreakdown(t));
  else if (t.agent_unknown) lines.push(formatAgentUnknown(t.agent_unknown));
  return lines.join('\n');
}

/** Probes the agent refused and said so (not loss), each reason with what to do about it. */
function formatRefused(t: TargetReport): string[] {
  const counts = formatRefusedCounts(t.refused ?? {});
  if (counts === null) return [];
  const lines = [`  refused  ${counts} (the agent's refusal replies; not counted as lost)`];
  if (t.last_refusal) lines.push(`           agent said: ${describeRefusal(t.last_refusal)}`);
  for (const reason of Object.keys(t.refused ?? {}) as RefusalReason[]) lines.push(`           ${reason}: ${refusalHint(reason)}`);
  return lines;
}

/** "3 of the 10 worst round trips fell in intervals whose timer max exceeded the RTT's p99 (…)" */
export function formatTimerCoincidence(c: TimerCoincidence): string {
  const unknown = c.worst - c.annotated;
  return `${c.above_rtt_p99} of the ${c.worst} worst round trips fell in agent intervals whose guest timer max exceeded ` +
    `the RTT's p99 (${formatNs(c.rtt_p99_ns)})${unknown > 0 ? `; ${unknown} fell in intervals without a timer figure` : ''}`;
}

/** A breakdown asked for and not had: said as unknown, never as zeros. */
export function formatAgentUnknown(unknown: NonNullable<TargetReport['agent_unknown']>): string {
  return `  agent    ${unknown.url}: UNKNOWN: ${unknown.reason}; no agent breakdown, loss split unknown`;
}

/** What the agent's own socket lost: the guest's loss, not the path's (said only when there was some). */
export function agentOwnLoss(agent: Pick<NonNullable<TargetReport['agent']>, 'receive_buffer_drops' | 'backlog_paused_ms'>): string | null {
  const parts: string[] = [];
  const drops = agent.receive_buffer_drops ?? 0;
  const pausedMs = agent.backlog_paused_ms ?? 0;
  if (drops > 0) parts.push(`the agent's kernel dropped ${drops} probes unread, its socket's receive buffer full (in the forward loss; over all of the agent's sessions)`);
  if (pausedMs > 0) parts.push(`the agent's reflector paused ${(pausedMs / 1000).toFixed(1)} s while its JavaScript was behind`);
  return parts.length === 0 ? null : `the guest's own loss, not the path's: ${parts.join('; ')}`;
}

/** Where the time and the loss went, from the agent's stream. */
function formatAgentBreakdown(t: TargetReport): string[] {
  const agent = t.agent;
  if (!agent) return [];
  const lines = [`  agent    ${agent.url}: ${agent.intervals} intervals${agent.complete ? '' : ' (INCOMPLETE: figures below may miss intervals)'}` +
    `${agent.reconnects > 0 ? `, ${agent.reconnects} reconnects` : ''}${agent.restarts > 0 ? `, ${agent.restarts} agent restarts` : ''}${agent.dropped_by_agent > 0 ? `, ${agent.dropped_by_agent} dropped by the agent` : ''}`];
  const clocks = agent.clocks ? `T2 ${agent.clocks.t2}, turnaround ${agent.clocks.turnaround}` : 'clocks unknown';
  lines.push(`           ${clocks}`);
  const columns: [string, LatencySummary | null, string][] = [
    ['guest turn', agent.turnaround_ns, ''], ['arrival jit', agent.ipdv_ns, ''], ['one-way fwd', agent.owd_ns, 'not synced'],
    ['guest timer', agent.timer_ns ?? null, 'off'],
  ];
  lines.push(`  ${''.padEnd(8)}${columns.map(([title]) => title.padStart(14)).join('')}`);
  for (const [label, pick] of ROWS.filter(([label]) => ['min', 'p50', 'p99', 'p99.9', 'max'].includes(label))) {
    lines.push(`  ${label.padEnd(8)}${columns.map(([, summary, none]) => (summary ? formatNs(pick(summary)) : none).padStart(14)).join('')}`);
  }
  if (agent.timer_ns) {
    const t = agent.timer_ns;
    lines.push(`           guest timer: wake-up latency every ${formatNs(t.interval_ns)} on the agent's CLOCK_MONOTONIC, ` +
      `${t.priority === null ? 'SCHED_OTHER (no SCHED_FIFO: see the agent\'s warning)' : `SCHED_FIFO ${t.priority}`}` +
      `${t.cpu === null ? '' : `, CPU ${t.cpu}`}, ${t.count} wake-ups${t.max_at ? `, max at ${t.max_at}` : ''}`);
  }
  if (agent.owd_ns) lines.push(`           one-way delay ± ${formatNs(agent.owd_ns.clock_error_ns)} (clocks declared synced by ${agent.owd_ns.clock_sync})`);
  const split = t.loss_forward === null || t.loss_forward === undefined
    ? 'forward/return split unknown (agent stream incomplete)'
    : `forward (never reached the agent) ${t.loss_forward}, return (reply lost) ${t.loss_return}`;
  lines.push(`  loss     ${split}; agent saw ${agent.received} probes, ${agent.gaps} gaps, ${agent.reordered} reordered, ${agent.duplicates} duplicates`);
  const own = agentOwnLoss(agent);
  if (own) lines.push(`           ${own}`);
  return lines;
}

/** Up to this many targets the text report shows each in full; beyond, one line each (--verbose: in full). */
export const FULL_REPORT_TARGETS = 4;

const cell = (ns: number | null): string => formatNs(ns).padStart(10);

/** One line per target, the worst max first: what to look at among many targets. */
export function formatTargetSummary(targets: readonly TargetReport[]): string {
  const sorted = [...targets].sort((a, b) => (b.rtt_ns.max ?? -1) - (a.rtt_ns.max ?? -1));
  const width = Math.max(6, ...sorted.map((t) => t.name.length));
  const lines = [
    `${targets.length} targets, worst max first (--verbose: every target in full; the JSON has them all)`,
    `  ${'target'.padEnd(width)}      sent      lost   loss      p50 RTT      p99 RTT      max RTT   missed slots`,
    ...sorted.map((t) => `  ${t.name.padEnd(width)}  ${String(t.sent).padStart(8)}  ${String(t.lost).padStart(8)}  ${formatPercent(t.loss_ratio).padStart(7)}` +
      `  ${cell(t.rtt_ns.p50)}  ${cell(t.rtt_ns.p99)}  ${cell(t.rtt_ns.max)}  ${String(t.missed_send_slots).padStart(13)}`),
  ];
  return lines.join('\n');
}

/** The run over all its targets' probes together: three lines above the per-target ones. */
export function formatAllTargets(all: AllTargetsReport): string {
  const spread = (s: LatencySummary): string => `p50 ${formatNs(s.p50)}, p99 ${formatNs(s.p99)}, p99.9 ${formatNs(s.p99_9)}, max ${formatNs(s.max)}`;
  const rtt = all.rtt_ns;
  const send = all.send_error_ns;
  return [
    `all ${all.targets} targets: sent ${all.sent}, lost ${all.lost} (${formatPercent(all.loss_ratio)}), ` +
      `missed send slots ${all.missed_send_slots} (${formatPercent(all.missed_slot_ratio)})`,
    `  RTT over all probes: ${rtt.count === 0 ? 'none' : `${spread(rtt)} (${all.worst_rtt_target})`} [${all.timestamps.rtt_clock}]`,
    `  send error over all probes: ${send.count === 0 ? 'none' : `${spread(send)} (largest p99: ${all.worst_send_error_p99_target})`} [${CLOCK_OF_SOURCE[all.timestamps.send_error]}]`,
  ].join('\n');
}

export function formatRunReport(report: RunReport, verbose = false): string {
  const header = `rtprobe run ${report.started}: ${report.duration_s.toFixed(1)} s at ${report.rate_hz} Hz, ` +
    `${report.size_bytes} B probes, late after ${formatNs(report.timeout_ns)}, lost after ${formatNs(report.loss_after_ns)}`;
  const full = verbose || report.targets.length <= FULL_REPORT_TARGETS;
  const parts = [header, ...(report.all_targets ? [formatAllTargets(report.all_targets)] : []),
    ...(full ? report.targets.map(formatTargetReport) : [formatTargetSummary(report.targets)])];
  const stray = Object.keys(report.rejected_unattributed).length;
  if (stray > 0) parts.push(`datagrams matching no target: ${formatRejects(report.rejected_unattributed)}`);
  // the one-line-per-target summary has no room for it: the breakdown asked for and missing
  const unknown = full ? [] : report.targets.filter((t) => t.agent_unknown);
  if (unknown.length > 0) parts.push(`agent breakdown UNKNOWN for ${unknown.length} targets (stream never connected): ${unknown.map((t) => t.name).join(', ')}`);
  return parts.join('\n\n') + '\n';
}
