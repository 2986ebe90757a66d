import { PERCENTILE_KEYS, type LatencySummary } from '../shared/histogram/latency-histogram.js';
import { formatNs, formatPercent } from '../shared/report/format-ns.js';
import type { RejectCounts } from '../shared/wire/reject-reason.js';
import { CLOCK_OF_SOURCE, type RunReport, type TargetReport } from './run-report.js';

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

export function formatTargetReport(t: TargetReport): string {
  const lines: string[] = [];
  const address = t.address.includes(':') ? `[${t.address}]:${t.port}` : `${t.address}:${t.port}`;
  lines.push(`target ${t.name} (${address}, udp, session 0x${t.session.toString(16).padStart(8, '0')})`);
  lines.push(`  probes   sent ${t.sent}  received ${t.received}  lost ${t.lost} (${formatPercent(t.loss_ratio)})  ` +
    `late ${t.late}  duplicates ${t.duplicates}  reordered ${t.reordered}  missed send slots ${t.missed_send_slots}`);
  const fallback = t.timestamps.user_fallback_rtts > 0
    ? `; ${t.timestamps.user_fallback_rtts} RTTs fell back to user stamps (TX stamp missing)` : '';
  lines.push(`  clocks   RTT: ${t.timestamps.tx} TX/${t.timestamps.rx} RX stamps (${t.timestamps.rtt_clock})${fallback}`);
  lines.push(`           turnaround: agent T2 ${t.timestamps.agent_t2}, T3 ${t.timestamps.agent_t3}; ` +
    `send error: ${CLOCK_OF_SOURCE.user}`);
  lines.push(`  ${''.padEnd(8)}${'RTT'.padStart(14)}${'turnaround'.padStart(14)}${'send error'.padStart(14)}`);
  for (const [label, pick] of ROWS) {
    lines.push(`  ${label.padEnd(8)}${formatNs(pick(t.rtt_ns)).padStart(14)}` +
      `${formatNs(pick(t.turnaround_ns)).padStart(14)}${formatNs(pick(t.send_error_ns)).padStart(14)}`);
  }
  lines.push(`  samples ${String(t.rtt_ns.count).padStart(14)}${String(t.turnaround_ns.count).padStart(14)}` +
    `${String(t.send_error_ns.count).padStart(14)}`);
  if (t.worst.length > 0) {
    lines.push('  worst round trips');
    t.worst.forEach((w, i) => {
      lines.push(`    ${String(i + 1).padStart(2)}. seq ${String(w.seq).padEnd(10)} ${formatNs(w.rtt_ns).padStart(12)}  sent ${w.at}`);
    });
  }
  lines.push(`  rejected ${formatRejects(t.rejected)}`);
  return lines.join('\n');
}

export function formatRunReport(report: RunReport): string {
  const header = `rtprobe run ${report.started}: ${report.duration_s.toFixed(1)} s at ${report.rate_hz} Hz, ` +
    `${report.size_bytes} B probes, late after ${formatNs(report.timeout_ns)}, lost after ${formatNs(report.loss_after_ns)}`;
  const parts = [header, ...report.targets.map(formatTargetReport)];
  const stray = Object.keys(report.rejected_unattributed).length;
  if (stray > 0) parts.push(`datagrams matching no target: ${formatRejects(report.rejected_unattributed)}`);
  return parts.join('\n\n') + '\n';
}
