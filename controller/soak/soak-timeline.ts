import type { AlertEvent } from './alerts.js';
import type { ClosedInterval } from '../recording/interval-stats.js';
import { IntervalEnvelope } from './interval-envelope.js';

/** One line of the dashboard's alert list. */
export interface AlertEntry { at: string; target: string; kind: AlertEvent['kind']; value: number; threshold: number; message: string }

/** How many alerts the list keeps (the newest); the counts by kind keep them all. */
export const RECENT_ALERTS = 200;

/**
 * What the dashboard shows of a soak's past, in constant memory: per target the bucketed
 * series of its intervals (IntervalEnvelope), and the newest alerts with the count of all.
 */
export class SoakTimeline {
  private readonly envelopes = new Map<string, IntervalEnvelope>();
  readonly recentAlerts: AlertEntry[] = [];
  readonly alertsByKind: Record<string, number> = {};
  private readonly alertsByTarget = new Map<string, number>();

  constructor(private readonly bucketCapacity = 480) {}

  envelope(target: string): IntervalEnvelope | undefined {
    return this.envelopes.get(target);
  }

  alertsOf(target: string): number {
    return this.alertsByTarget.get(target) ?? 0;
  }

  /** A closed interval of a target and the alerts it fired. */
  add(target: string, interval: ClosedInterval, alerts: readonly AlertEvent[]): void {
    let envelope = this.envelopes.get(target);
    if (!envelope) {
      envelope = new IntervalEnvelope(this.bucketCapacity);
      this.envelopes.set(target, envelope);
    }
    const rtt = interval.histograms.rtt;
    envelope.add({
      startMs: interval.startMs, endMs: interval.endMs, maxNs: rtt.count === 0 ? null : rtt.maxNs,
      sent: interval.sent, lost: interval.lost, alerts: alerts.map((a) => a.kind),
    });
    if (alerts.length > 0) this.alertsByTarget.set(target, this.alertsOf(target) + alerts.length);
    for (const alert of alerts) {
      this.alertsByKind[alert.kind] = (this.alertsByKind[alert.kind] ?? 0) + 1;
      this.recentAlerts.push({ at: alert.interval_start, target, kind: alert.kind, value: alert.value, threshold: alert.threshold, message: alert.message });
    }
    if (this.recentAlerts.length > RECENT_ALERTS) this.recentAlerts.splice(0, this.recentAlerts.length - RECENT_ALERTS);
  }
}
