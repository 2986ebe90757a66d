/** Builders of synthetic transport events for RunState and report tests (no sockets). */
import { encodeProbe, encodeReply } from '../../../shared/wire/probe-codec.js';
import type {
  MissedEvent, RxEvent, SentEvent, StampSource, TxStampEvent,
} from '../../../shared/transport/probe-transport.js';
import { monoNs } from '../../../shared/time/clock.js';
import { RunState } from '../../../controller/matching/run-state.js';
import { TargetStats, type ResolvedTarget } from '../../../controller/recording/target-stats.js';

export const SEC = 1_000_000_000n;
export const PERIOD = 10_000_000n; // 100 Hz
/** a synthetic CLOCK_MONOTONIC origin near the real one, so wall-clock "at" fields are sane */
export const T0 = monoNs();

export const TARGET_A: ResolvedTarget = { name: 'guest-a', address: '127.0.0.1', port: 7707, family: 4, mode: 'udp' };
export const TARGET_B: ResolvedTarget = { name: 'guest-b', address: '::1', port: 9000, family: 6, mode: 'udp' };
export const SESSION_A = 0x11111111;
export const SESSION_B = 0x22222222;

export function makeStats(): TargetStats[] {
  const options = { capacity: 256, timeoutNs: 1e9, lossAfterNs: 10n * SEC };
  return [new TargetStats(TARGET_A, SESSION_A, options), new TargetStats(TARGET_B, SESSION_B, options)];
}

export function dueAt(seq: bigint): bigint { return T0 + seq * PERIOD; }

/** Probe `seq` of `target` left `lateNs` after its deadline. */
export function sent(target: number, seq: bigint, lateNs = 2_000n): SentEvent {
  return {
    kind: 'sent', target, seq, slot: seq, dueMonoNs: dueAt(seq), sentMonoNs: dueAt(seq) + lateNs,
    t1RealNs: 1_700_000_000n * SEC + dueAt(seq),
  };
}

export function tx(target: number, seq: bigint, lateNs = 2_000n): TxStampEvent {
  return { kind: 'tx', target, seq, txNs: dueAt(seq) + lateNs, source: 'user' };
}

export function missed(target: number, slot: bigint): MissedEvent {
  return { kind: 'missed', target, slot, dueMonoNs: dueAt(slot), count: 1 };
}

/** The agent's reply bytes to probe `seq` of `session`, turnaround T3 − T2 = `turnaroundNs`. */
export function replyBytes(session: number, seq: bigint, turnaroundNs = 25_000n, size = 64,
  sources: [StampSource, StampSource] = ['kernel', 'kernel']): Buffer {
  const probe = encodeProbe(session, seq, 1_700_000_000n * SEC, size);
  const t2 = 5_000_000_000_000n + seq * 1_000n;
  return encodeReply(probe, t2, t2 + turnaroundNs, sources[0], sources[1]);
}

/** A datagram received `rttNs` after probe `seq` was sent (with the default 2 µs send lateness). */
export function rx(data: Buffer, seq: bigint, rttNs: bigint, from: ResolvedTarget = TARGET_A): RxEvent {
  const at = dueAt(seq) + 2_000n + rttNs;
  return { kind: 'rx', data, address: from.address, port: from.port, rxNs: at, source: 'user', rxMonoNs: at };
}

/**
 * A finished two-target run: A answers 20 of 21 probes (one lost, one late, one duplicate,
 * one reordered, one missed slot, stray and per-target rejects); B never answers.
 */
export function finishedRun(): RunState {
  const state = new RunState(makeStats());
  for (let seq = 0n; seq < 21n; seq++) state.apply([sent(0, seq), tx(0, seq), sent(1, seq), tx(1, seq)]);
  state.apply([missed(0, 21n)]);
  for (let seq = 0n; seq < 21n; seq++) {
    if (seq === 3n || seq === 11n) continue; // 3 lost, 11 comes after 12
    const rtt = seq === 7n ? 1_200_000_000n : 100_000n + seq * 1_000n; // 7 is late
    state.apply([rx(replyBytes(SESSION_A, seq), seq, rtt)]);
    if (seq === 12n) state.apply([rx(replyBytes(SESSION_A, 11n), 11n, 150_000n)]);
  }
  state.apply([rx(replyBytes(SESSION_A, 5n), 5n, 200_000n)]); // duplicate
  state.apply([rx(replyBytes(SESSION_A, 0n), 0n, 50_000n, { ...TARGET_A, port: 1 })]); // wrong source
  const junk = Buffer.alloc(64);
  state.apply([rx(junk, 0n, 1n)]); // bad magic, stray
  state.apply([{ kind: 'done' }]);
  state.finish();
  return state;
}
