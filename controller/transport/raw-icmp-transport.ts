import { monoNs } from '../../shared/time/clock.js';
import { callHandler } from '../../shared/native/native-addon.js';
import {
  NeedsCapNetRawError, isPermissionDenied, type IcmpTransport, type IcmpTransportStats,
} from './icmp-transport.js';
import type { ScheduleSpec, TransportEventHandler } from '../../shared/transport/probe-transport.js';
import { ECHO_REPLY_TYPE, sealEchoRequest, stripIpv4Header } from './icmp-codec.js';
import { runJsSchedule } from '../schedule/js-schedule-runner.js';

/** The part of raw-socket 1.8.1 (CommonJS, no types) this transport uses. */
interface RawSocket {
  on(event: 'message', listener: (buffer: Buffer, source: string) => void): this;
  on(event: 'error', listener: (error: Error) => void): this;
  once(event: 'close', listener: () => void): this;
  send(buffer: Buffer, offset: number, length: number, address: string,
    afterCallback: (error: Error | null, bytes: number) => void): this;
  close(): this;
  /** the native handle: its send calls sendto at once, the public send waits for the next poll */
  wrap?: { send?: (buffer: Buffer, offset: number, length: number, address: string, callback: (bytes: number) => void) => void };
}

interface RawSocketModule {
  createSocket(options: { protocol: number; addressFamily: number; bufferSize?: number }): RawSocket;
  Protocol: { ICMP: number; ICMPv6: number };
  AddressFamily: { IPv4: number; IPv6: number };
}

/** Imported when a user-space ICMP transport opens; a literal specifier, so the bundle carries it. */
async function loadRawSocket(): Promise<RawSocketModule> {
  try {
    return ((await import('raw-socket')) as { default: RawSocketModule }).default;
  } catch (err) {
    const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new Error(`the raw-socket package did not load (${reason}); run \`npm ci\` so that its native part builds`);
  }
}

/**
 * The user-space ICMP echo transport on the `raw-socket` package: the event loop's timers
 * drive the schedule (runJsSchedule), every stamp is CLOCK_MONOTONIC read in JavaScript
 * ("user" stamps; raw-socket reads with recvfrom, so there are no kernel stamps). RxEvents
 * carry the ICMP message of echo replies, IPv4 header stripped, port 0; the rest a raw socket
 * sees (our own requests on loopback, errors) is counted as filtered. Needs CAP_NET_RAW.
 */
export class RawIcmpTransport implements IcmpTransport {
  readonly stampSource = 'user' as const;
  private stopSchedule: (() => void) | null = null;
  private closing: Promise<void> | null = null;
  private readonly counters: IcmpTransportStats = { received: 0, filtered: 0, sendErrors: 0 };

  private constructor(
    private readonly socket: RawSocket,
    private readonly family: 4 | 6,
    private readonly onEvents: TransportEventHandler,
    private readonly onError: (error: Error) => void,
  ) {}

  static async open(family: 4 | 6, onEvents: TransportEventHandler, onError: (error: Error) => void): Promise<RawIcmpTransport> {
    const raw = await loadRawSocket();
    let socket: RawSocket;
    try {
      socket = raw.createSocket({
        protocol: family === 4 ? raw.Protocol.ICMP : raw.Protocol.ICMPv6,
        addressFamily: family === 4 ? raw.AddressFamily.IPv4 : raw.AddressFamily.IPv6,
        bufferSize: 65_536, // any IPv4 datagram: a longer one would come back truncated
      });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const call = family === 4 ? 'AF_INET, SOCK_RAW, IPPROTO_ICMP' : 'AF_INET6, SOCK_RAW, IPPROTO_ICMPV6';
      if (isPermissionDenied(message)) throw new NeedsCapNetRawError(`raw-socket: socket(${call}) failed: ${message}`);
      throw err;
    }
    const transport = new RawIcmpTransport(socket, family, onEvents, onError);
    socket.on('message', (buffer, source) => transport.socketOnMessage(buffer, source));
    // A failed read, or a poll error after which raw-socket closes the socket: loss, not a crash.
    socket.on('error', onError);
    return transport;
  }

  private socketOnMessage(datagram: Buffer, source: string): void {
    // Stamp first: everything after this line is not part of the round trip.
    const rxNs = monoNs();
    this.counters.received++;
    let message: Buffer = datagram;
    if (this.family === 4) {
      const stripped = stripIpv4Header(datagram);
      if (!stripped.ok) {
        this.counters.filtered++;
        return;
      }
      message = stripped.message;
    }
    if (message.length >= 1 && message[0] !== ECHO_REPLY_TYPE[this.family]) {
      this.counters.filtered++;
      return;
    }
    // raw-socket reuses one receive buffer: the event keeps a copy.
    const data = Buffer.from(message);
    callHandler(this.onEvents, [{ kind: 'rx', data, address: source, port: 0, rxNs, source: 'user', rxMonoNs: rxNs }]);
  }

  start(schedule: ScheduleSpec): void {
    if (this.closing) throw new Error('transport is closed');
    const family = this.family;
    this.stopSchedule = runJsSchedule(schedule, (packet, target) => {
      const destination = schedule.targets[target];
      if (destination) this.send(packet, destination.address);
    }, this.onEvents, (packet, seq) => sealEchoRequest(packet, seq, family));
  }

  private send(packet: Buffer, address: string): void {
    const afterSend = (error: Error | null): void => {
      if (!error) return;
      this.counters.sendErrors++;
      this.onError(new Error(`ICMP echo request to ${address} failed: ${error.message}`));
    };
    // sendto now, right after the schedule stamped the probe; raw-socket's public send would
    // queue it until the next poll of the event loop.
    const sendNow = this.socket.wrap?.send;
    if (typeof sendNow !== 'function') {
      this.socket.send(packet, 0, packet.length, address, afterSend);
      return;
    }
    try {
      sendNow.call(this.socket.wrap, packet, 0, packet.length, address, () => {});
    } catch (err) {
      afterSend(err instanceof Error ? err : new Error(String(err)));
    }
  }

  stop(): void {
    this.stopSchedule?.();
  }

  stats(): IcmpTransportStats {
    return { ...this.counters };
  }

  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.stop();
      this.socket.once('close', resolve);
      this.socket.close();
    });
    return this.closing;
  }
}
