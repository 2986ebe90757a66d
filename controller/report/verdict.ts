import { formatNs, formatPercent } from '../../shared/report/format-ns.js';
import type { TargetReport } from './run-report.js';

/** --max-rtt, --max-p99, --max-loss: what a run must stay within to PASS (null = not asked). */
export interface VerdictLimits {
  maxRttNs: number | null;
  maxP99Ns: number | null;
  maxLossRatio: number | null;
}

export const NO_VERDICT: VerdictLimits = { maxRttNs: null, maxP99Ns: null, maxLossRatio: null };

export interface VerdictCheck {
  target: string;
  /** the flag without its dashes */
  limit: 'max-rtt' | 'max-p99' | 'max-loss';
  /** RTT ns, or a loss ratio; null when the target has no RTT at all (counts as FAIL) */
  value: number | null;
  threshold: number;
  pass: boolean;
}

/** The JSON `verdict`: FAIL when any target breaks any limit. */
export interface Verdict {
  result: 'pass' | 'fail';
  limits: { max_rtt_ns: number | null; max_p99_ns: number | null; max_loss_ratio: number | null };
  checks: VerdictCheck[];
}

export function hasVerdict(limits: VerdictLimits): boolean {
  return limits.maxRttNs !== null || limits.maxP99Ns !== null || limits.maxLossRatio !== null;
}

/** Every target against every limit given (pure); null when no limit was given. */
export function evaluateVerdict(targets: readonly TargetReport[], limits: VerdictLimits): Verdict | null {
  if (!hasVerdict(limits)) return null;
  const checks: VerdictCheck[] = [];
  const latency = (target: string, limit: 'max-rtt' | 'max-p99', value: number | null, threshold: number | null): void => {
    if (threshold !== null) checks.push({ target, limit, value, threshold, pass: value !== null && value <= threshold });
  };
  for (const t of targets) {
    latency(t.name, 'max-rtt', t.rtt_ns.max, limits.maxRttNs);
    latency(t.name, 'max-p99', t.rtt_ns.p99, limits.maxP99Ns);
    if (limits.maxLossRatio !== null) {
      checks.push({ target: t.name, limit: 'max-loss', value: t.loss_ratio, threshold: limits.maxLossRatio, pass: t.loss_ratio <= limits.maxLossRatio });
    }
  }
  return {
    result: checks.every((c) => c.pass) ? 'pass' : 'fail',
    limits: { max_rtt_ns: limits.maxRttNs, max_p99_ns: limits.maxP99Ns, max_loss_ratio: limits.maxLossRatio },
    checks,
  };
}

const FIGURE: Record<VerdictCheck['limit'], string> = { 'max-rtt': 'max RTT', 'max-p99': 'p99 RTT', 'max-loss': 'loss' };

function formatCheck(c: VerdictCheck): string {
  const show = (v: number): string => (c.limit === 'max-loss' ? formatPercent(v) : formatNs(v));
  const value = c.value === null ? 'none measured' : show(c.value);
  return `${c.target} ${FIGURE[c.limit]} ${value} ${c.pass ? '<=' : c.value === null ? 'vs' : '>'} limit ${show(c.threshold)}`;
}

/** The last line of the text report: PASS/FAIL with each figure and its limit, failures first. */
export function formatVerdictLine(verdict: Verdict): string {
  const ordered = [...verdict.checks.filter((c) => !c.pass), ...verdict.checks.filter((c) => c.pass)];
  return `verdict: ${verdict.result.toUpperCase()}: ${ordered.map(formatCheck).join('; ')}`;
}
