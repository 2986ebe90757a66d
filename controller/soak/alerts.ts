import { formatNs, formatPercent } from '../../shared/report/format-ns.js';
import type { ClosedInterval } from '../recording/interval-stats.js';

export interface AlertThresholds {
  /** an interval whose max RTT exceeds this (ns) raises an alert */
  maxRttNs: number | null;
  /** an interval whose lost/sent exceeds this ratio raises an alert */
  lossRatio: number | null;
}

export interface AlertEvent {
  type: 'alert';
  kind: 'max-rtt' | 'loss';
  target: string;
  interval_start: string;
  interval_end: string;
  value: number;
  threshold: number;
  /** one line for people */
  message: string;
}

/** Which thresholds one closed interval of one target breaches (pure). */
export function evaluateAlerts(target: string, interval: ClosedInterval, thresholds: AlertThresholds): AlertEvent[] {
  const events: AlertEvent[] = [];
  const base = {
    type: 'alert' as const, target,
    interval_start: new Date(interval.startMs).toISOString(), interval_end: new Date(interval.endMs).toISOString(),
  };
  const rtt = interval.histograms.rtt;
  if (thresholds.maxRttNs !== null && rtt.count > 0 && rtt.maxNs > thresholds.maxRttNs) {
    events.push({
      ...base, kind: 'max-rtt', value: rtt.maxNs, threshold: thresholds.maxRttNs,
      message: `${target}: max RTT ${formatNs(rtt.maxNs)} > ${formatNs(thresholds.maxRttNs)} in ${base.interval_start}..${base.interval_end}`,
    });
  }
  const resolved = interval.received + interval.lost;
  const ratio = resolved === 0 ? 0 : interval.lost / resolved;
  if (thresholds.lossRatio !== null && interval.lost > 0 && ratio > thresholds.lossRatio) {
    events.push({
      ...base, kind: 'loss', value: ratio, threshold: thresholds.lossRatio,
      message: `${target}: loss ${formatPercent(ratio)} > ${formatPercent(thresholds.lossRatio)} (${interval.lost} lost) in ${base.interval_start}..${base.interval_end}`,
    });
  }
  return events;
}
