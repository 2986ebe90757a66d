/**
 * rtprobe(kernel) against each peer, same path, same run: ratios of RTT percentiles and the
 * targets of issue 3 (benchmark figures, not assertions):
 *   p99.9 ≤ 0.5 × irtt p99.9, p99.9 ≤ sockperf p99.9, send error max ≤ 0.1 × irtt timer error max.
 */
import type { ToolSummary } from './aggregate.js';
import type { ToolId } from './tool-result.js';

export interface Ratio {
  subject: ToolId;
  peer: ToolId;
  p50: number;
  p99: number;
  p99_9: number;
  max: number;
}

export interface TargetCheck {
  target: string;
  /** undefined when a side was not measured */
  pass?: boolean;
  actual?: number;
  limit?: number;
  why?: string;
}

const SUBJECT: ToolId = 'rtprobe-kernel';

/** rtprobe(kernel) UDP against every peer, and rtprobe ICMP against ping and fping (same probe kind). */
export function ratios(summaries: readonly ToolSummary[]): Ratio[] {
  return [...ratiosOf(SUBJECT, summaries, (t) => t !== 'rtprobe-icmp'), ...ratiosOf('rtprobe-icmp', summaries, (t) => t === 'ping' || t === 'fping')];
}

function ratiosOf(subject: ToolId, summaries: readonly ToolSummary[], isPeer: (tool: ToolId) => boolean): Ratio[] {
  const me = summaries.find((s) => s.tool === subject)?.rtt;
  if (!me) return [];
  const out: Ratio[] = [];
  for (const s of summaries) {
    if (s.tool === subject || !isPeer(s.tool) || !s.rtt) continue;
    out.push({
      subject,
      peer: s.tool,
      p50: me.p50 / s.rtt.p50,
      p99: me.p99 / s.rtt.p99,
      p99_9: me.p99_9 / s.rtt.p99_9,
      max: me.max / s.rtt.max,
    });
  }
  return out;
}

function check(target: string, actual: number | undefined, limit: number | undefined, missing: string): TargetCheck {
  if (actual === undefined || limit === undefined || !Number.isFinite(actual) || !Number.isFinite(limit)) {
    return { target, why: missing };
  }
  return { target, pass: actual <= limit, actual, limit };
}

export function checkTargets(summaries: readonly ToolSummary[]): TargetCheck[] {
  const get = (t: ToolId): ToolSummary | undefined => summaries.find((s) => s.tool === t && s.okRounds > 0);
  const me = get(SUBJECT);
  const irtt = get('irtt');
  const sockperf = get('sockperf');
  const noMe = 'rtprobe(kernel) not measured';
  return [
    check(
      'rtprobe(kernel) p99.9 ≤ 0.5 × irtt p99.9',
      me?.rtt?.p99_9,
      irtt?.rtt ? 0.5 * irtt.rtt.p99_9 : undefined,
      me ? 'irtt not measured' : noMe,
    ),
    check('rtprobe(kernel) p99.9 ≤ sockperf p99.9', me?.rtt?.p99_9, sockperf?.rtt?.p99_9, me ? 'sockperf not measured' : noMe),
    check(
      'rtprobe(kernel) send error max ≤ 0.1 × irtt timer error max',
      me?.sendError?.max,
      irtt?.sendError ? 0.1 * irtt.sendError.max : undefined,
      me ? 'irtt timer error not measured' : noMe,
    ),
  ];
}
