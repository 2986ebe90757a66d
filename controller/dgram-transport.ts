import dgram from 'node:dgram';
import { monoNs, realNs } from '../shared/time/clock.js';
import type {
  ProbeTransport, ScheduleSpec, TransportEvent, TransportEventHandler,
} from '../shared/transport/probe-transport.js';
import { decideTick, type ScheduleShape } from './probe-schedule.js';

/**
 * The user-space fallback transport on `node:dgram`: timers of the event loop drive the
 * schedule and every stamp is CLOCK_MONOTONIC read in JavaScript, so event-loop delay, GC and
 * timer slack are part of what it measures. Reports say so ("user" stamps).
 */
export class DgramTransport implements ProbeTransport {
  readonly stampSource = 'user' as const;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  private constructor(
    private readonly socket: dgram.Socket,
    private readonly onEvents: TransportEventHandler,
  ) {}

  static async open(family: 4 | 6, onEvents: TransportEventHandler, onError: (error: Error) => void): Promise<DgramTransport> {
    const socket = dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4' });
    const transport = new DgramTransport(socket, onEvents);
    socket.on('message', (data, rinfo) => {
      // Stamp first: everything after this line is not part of the round trip.
      const rxNs = monoNs();
      onEvents([{ kind: 'rx', data, address: rinfo.address, port: rinfo.port, rxNs, source: 'user', rxMonoNs: rxNs }]);
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    // ICMP errors (port unreachable) surface here on some kernels; they are loss, not a crash.
    socket.on('error', onError);
    return transport;
  }

  start(schedule: ScheduleSpec): void {
    const shape: ScheduleShape = {
      startMonoNs: schedule.startMonoNs, periodNs: schedule.periodNs, targets: schedule.targets.length,
    };
    const seqs = schedule.targets.map(() => 0n);
    let tick = 0n;

    const run = (): void => {
      this.timer = null;
      const events: TransportEvent[] = [];
      while (!this.stopped) {
        const decision = decideTick(shape, tick, monoNs());
        if (schedule.endMonoNs !== undefined && (decision.action === 'wait' ? decision.untilNs : decision.dueNs) >= schedule.endMonoNs) {
          this.stopped = true;
          events.push({ kind: 'done' });
          break;
        }
        if (decision.action === 'wait') {
          this.timer = setTimeout(run, Number(decision.untilNs - monoNs()) / 1e6);
          break;
        }
        tick++;
        const { target } = decision;
        if (decision.action === 'miss') {
          events.push({ kind: 'missed', target, slot: decision.slot, dueMonoNs: decision.dueNs });
          continue;
        }
        const seq = seqs[target] ?? 0n;
        const template = schedule.templates[target];
        const destination = schedule.targets[target];
        if (!template || !destination) continue;
        // A copy per probe: dgram may still hold the previous buffer in its send queue.
        const packet = Buffer.from(template);
        const t1RealNs = realNs();
        packet.writeBigUInt64BE(seq, schedule.seqOffset);
        packet.writeBigUInt64BE(t1RealNs, schedule.t1Offset);
        const sentMonoNs = monoNs();
        this.socket.send(packet, destination.port, destination.address);
        events.push(
          { kind: 'sent', target, seq, slot: decision.slot, dueMonoNs: decision.dueNs, sentMonoNs, t1RealNs },
          { kind: 'tx', target, seq, txNs: sentMonoNs, source: 'user' },
        );
        seqs[target] = seq + 1n;
        if (schedule.probesPerTarget > 0n && seqs.every((sent) => sent >= schedule.probesPerTarget)) {
          this.stopped = true;
          events.push({ kind: 'done' });
        }
      }
      if (events.length > 0) this.onEvents(events);
    };
    run();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.onEvents([{ kind: 'done' }]);
  }

  close(): Promise<void> {
    this.stop();
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}
