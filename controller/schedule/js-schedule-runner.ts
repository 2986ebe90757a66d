import { monoNs, realNs } from '../../shared/time/clock.js';
import type { ScheduleSpec, TransportEvent, TransportEventHandler } from '../../shared/transport/probe-transport.js';
import { decideTick, type ScheduleShape } from './probe-schedule.js';

/** Sends one probe; called with a fresh copy of the target's template, seq and T1 written. */
export type SendProbe = (packet: Buffer, target: number) => void;

/**
 * Runs the isochronous schedule on the event loop's timers, for the user-space transports:
 * absolute deadlines from probe-schedule, missed slots reported instead of bursts, every stamp
 * CLOCK_MONOTONIC read in JavaScript. Returns a function that stops it (then 'done').
 */
export function runJsSchedule(schedule: ScheduleSpec, send: SendProbe, onEvents: TransportEventHandler,
  prepare: (packet: Buffer, seq: bigint) => void = () => {}): () => void {
  const shape: ScheduleShape = {
    startMonoNs: schedule.startMonoNs, periodNs: schedule.periodNs, targets: schedule.targets.length,
  };
  const seqs = schedule.targets.map(() => 0n);
  let tick = 0n;
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;

  const finish = (events: TransportEvent[]): void => {
    stopped = true;
    events.push({ kind: 'done' });
  };

  const run = (): void => {
    timer = null;
    const events: TransportEvent[] = [];
    while (!stopped) {
      const decision = decideTick(shape, tick, monoNs());
      const dueNs = decision.action === 'wait' ? decision.untilNs : decision.dueNs;
      if (schedule.endMonoNs !== undefined && dueNs >= schedule.endMonoNs) {
        finish(events);
        break;
      }
      if (decision.action === 'wait') {
        timer = setTimeout(run, Number(decision.untilNs - monoNs()) / 1e6);
        break;
      }
      tick++;
      const { target } = decision;
      if (decision.action === 'miss') {
        events.push({ kind: 'missed', target, slot: decision.slot, dueMonoNs: decision.dueNs, count: 1 });
        continue;
      }
      const seq = seqs[target] ?? 0n;
      const template = schedule.templates[target];
      if (!template) continue;
      // A copy per probe: the socket may still hold the previous buffer in its send queue.
      const packet = Buffer.from(template);
      const t1RealNs = realNs();
      packet.writeBigUInt64BE(seq, schedule.seqOffset);
      packet.writeBigUInt64BE(t1RealNs, schedule.t1Offset);
      prepare(packet, seq);
      const sentMonoNs = monoNs();
      send(packet, target);
      events.push(
        { kind: 'sent', target, seq, slot: decision.slot, dueMonoNs: decision.dueNs, sentMonoNs, t1RealNs },
        { kind: 'tx', target, seq, txNs: sentMonoNs, source: 'user' },
      );
      seqs[target] = seq + 1n;
      if (schedule.probesPerTarget > 0n && seqs.every((sent) => sent >= schedule.probesPerTarget)) finish(events);
    }
    if (events.length > 0) onEvents(events);
  };
  run();

  return () => {
    if (stopped) return;
    if (timer) clearTimeout(timer);
    timer = null;
    const events: TransportEvent[] = [];
    finish(events);
    onEvents(events);
  };
}
