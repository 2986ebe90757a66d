import { decodeProbe } from '../shared/wire/probe-codec.js';
import { wallMsOfMono } from '../shared/time/clock.js';
import type { AgentCore } from './agent-core.js';
import type { ReflectorEvent } from './native-reflector-socket.js';

/**
 * A peer's text ("addr:port", "[addr]:port"), made again only when the peer changes: a
 * controller's probes all come from one address and port, so not per probe.
 */
export class PeerText {
  private address = '';
  private port = -1;
  private text = '';

  constructor(private readonly family: 4 | 6) {}

  of(address: string, port: number): string {
    if (address !== this.address || port !== this.port) {
      this.address = address;
      this.port = port;
      this.text = this.family === 6 ? `[${address}]:${port}` : `${address}:${port}`;
    }
    return this.text;
  }
}

/**
 * One batch of the native reflector's events into the agent's core: what its thread answered
 * (with the kernel's stamps) and everything it did not. The agent's per-probe path, which its
 * warm-up (warm-up-reflect-path.ts) runs too.
 */
export function applyReflectorEvents(events: ReflectorEvent[], core: AgentCore, peers: PeerText): void {
  // (an index, not for-of: see RunState.apply)
  for (let i = 0; i < events.length; i++) {
    const event = events[i] as ReflectorEvent;
    switch (event.kind) {
      case 'reflected': {
        const peer = peers.of(event.address, event.port);
        // when its thread read it, not when the batch came: the interval it belongs to
        const readMs = wallMsOfMono(event.rxMonoNs);
        core.reflectedProbe({ session: event.session, seq: event.seq, peer, t1Ns: event.t1Ns, t2Ns: event.t2Ns, nowMs: readMs }, null);
        if (event.txNs !== null) core.replySent(event.session, event.txNs, event.t2Ns);
        break;
      }
      case 'reflect-tx':
        core.replySent(event.session, event.txNs, event.t2Ns);
        break;
      case 'rx': {
        const decoded = decodeProbe(event.data);
        // The thread answers every valid probe; what reaches here is malformed or a reply.
        core.rejected(decoded.ok ? 'bad-type' : decoded.reason);
        break;
      }
      case 'refused':
        core.rejected(event.reason, event.count);
        break;
      case 'session-ended':
        core.sessionEnded(event.count);
        break;
      case 'error':
        break; // counted from the thread's own counters, exactly; the message went to the warnings
    }
  }
}
