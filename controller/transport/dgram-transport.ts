import dgram from 'node:dgram';
import { monoNs } from '../../shared/time/clock.js';
import { signDatagram } from '../../shared/wire/probe-auth.js';
import type { ProbeTransport, ScheduleSpec, TransportEventHandler } from '../../shared/transport/probe-transport.js';
import { runJsSchedule } from '../schedule/js-schedule-runner.js';

/**
 * The user-space fallback transport on `node:dgram`: timers of the event loop drive the
 * schedule and every stamp is CLOCK_MONOTONIC read in JavaScript, so event-loop delay, GC and
 * timer slack are part of what it measures. Reports say so ("user" stamps).
 */
export class DgramTransport implements ProbeTransport {
  readonly stampSource = 'user' as const;
  private stopSchedule: (() => void) | null = null;

  private constructor(
    private readonly socket: dgram.Socket,
    private readonly onEvents: TransportEventHandler,
    private readonly authKey: Buffer | null,
  ) {}

  /** With `authKey` (--key-file) every probe is signed after its seq and T1 are written. */
  static async open(family: 4 | 6, onEvents: TransportEventHandler, onError: (error: Error) => void,
    authKey: Buffer | null = null): Promise<DgramTransport> {
    const socket = dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4' });
    const transport = new DgramTransport(socket, onEvents, authKey);
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
    const key = this.authKey;
    this.stopSchedule = runJsSchedule(schedule, (packet, target) => {
      const destination = schedule.targets[target];
      if (destination) this.socket.send(packet, destination.port, destination.address);
    }, this.onEvents, key === null ? undefined : (packet) => signDatagram(packet, key));
  }

  stop(): void {
    this.stopSchedule?.();
  }

  sendDatagram(data: Buffer, address: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.send(data, port, address, (error) => (error ? reject(error) : resolve()));
    });
  }

  close(): Promise<void> {
    this.stop();
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}
