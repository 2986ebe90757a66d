import { decodeEventRecords, packEventRecords, RecordField, type PackedEvent } from '../../shared/native/event-records.js';
import { monoNs, realNs } from '../../shared/time/clock.js';
import { addonBuffer, addonStrings, runtimeAddress } from '../../shared/native/addon-shaped.js';
import { warmUpInRounds, type WarmUp } from '../../shared/native/warm-up-rounds.js';
import { FlushWaiters } from '../../shared/native/flush-waiters.js';
import type { NativeEvent } from '../../shared/native/native-addon.js';
import { encodeProbe, encodeReply } from '../../shared/wire/probe-codec.js';
import { PROBE_MIN_BYTES } from '../../shared/wire/probe-layout.js';
import { RunState } from '../matching/run-state.js';
import type { ResolvedTarget, TargetStats } from '../recording/target-stats.js';
import { echoReplyTo, encodeEchoRequest, ICMP_MIN_BYTES } from '../transport/icmp-codec.js';
import { deliverBatch } from '../transport/schedule-socket-transport.js';

/**
 * V8 compiles a function with its optimizing compiler once it has run often enough. At 100 Hz
 * the controller's per-probe path (decode a native batch, match, record) got there 10–40 s
 * into a run: ~70 functions, 1–20 ms each on V8's helper threads, ~26 µs of CPU a probe over
 * seconds 15–35 (measured), that is in the middle of the measurement, beside the guest. So
 * the path runs first on synthetic batches, packed as the native thread packs them, against
 * a throwaway target of each mode the run uses, and V8 compiles it before the first probe.
 * Nothing is sent: the batches are made up in memory. They must look like real ones to V8 as
 * well (objects of the same hidden classes, every branch a run takes early), or the first real
 * batch throws the compiled code away and V8 takes another 20–40 s to compile it again.
 */

// Rounds of ROUND_BATCHES batches (warmUpInRounds)
const ROUND_BATCHES = 4;
const PROBES_A_BATCH = 250; // ~500 events: the native thread's half-full batch
const PERIOD_NS = 10_000_000n;
const SESSION = 0x7e57_0001;
const SESSION_HIGH = 0xfe57_0001;
const PORT = 7;
const ADDRESS = runtimeAddress(['127', '0', '0', '1']);
// events.h EventKind and StampSource
const KIND_SENT = 0;
const KIND_TX = 1;
const KIND_RX = 3;
const KIND_FLUSHED = 11;
const SOURCE_KERNEL = 2;

const ADDON_STRINGS = addonStrings([ADDRESS]);

/** What the warm-up's batches hand V8 that N-API makes in a real one: for the test that compares their hidden classes. */
export function warmUpBatchObjects(): { strings: string[]; data: Buffer; address: string } {
  return { strings: ADDON_STRINGS, data: addonBuffer(new Uint8Array(8)), address: ADDRESS };
}

const FLUSH_ANSWER = packEventRecords([{ kind: KIND_FLUSHED, fields: { [RecordField.Count]: 1n } }]);

const WARM_UP_FLUSHES = new FlushWaiters();

/** A decoded batch on the way a real one goes: the transport's deliverBatch, then the run's state. */
function deliver(mode: 'udp' | 'icmp', state: RunState, events: NativeEvent[], horizonMonoNs: bigint): void {
  deliverBatch(events, horizonMonoNs, (transportEvents, readUntilMonoNs) => {
    state.apply(transportEvents, mode, 4, readUntilMonoNs);
    state.expire(horizonMonoNs);
  }, (error) => { throw new Error(`warm-up: ${error.message}`); }, WARM_UP_FLUSHES);
}

/**
 * Runs the path until V8 has compiled it (warmUpInRounds), ROUND_BATCHES × PROBES_A_BATCH
 * probes per mode a round. The modes take turns within each round, so that the code compiled
 * serves both in a run with both.
 */
export function warmUpProbePath(modes: ReadonlySet<'udp' | 'icmp'>, makeStats: MakeTargetStats): Promise<WarmUp> {
  const startMonoNs = monoNs();
  const realMinusMonoNs = realNs() - startMonoNs;
  const probes = ROUND_BATCHES * PROBES_A_BATCH;
  return warmUpInRounds((index) => {
    // Fresh targets each round, as a run's are new: the first probe of each takes the branch
    // that starts the accounting (V8 gives a function its feedback only after a few calls, so a
    // branch taken once is one it knows nothing of, and taking it deoptimizes the whole path
    // it was compiled into, which at 100 Hz took 20-40 s to compile again). Sessions above
    // 2^31, which V8 holds apart from small integers, take turns with ones below, as random ones do.
    const session = index % 2 === 0 ? SESSION : SESSION_HIGH;
    const paths = [...modes].map((mode) => throwawayTarget(mode, session, makeStats));
    for (let b = 0; b < ROUND_BATCHES; b++) {
      for (const { mode, state } of paths) {
        const batch = syntheticBatch(mode, session, BigInt(b * PROBES_A_BATCH), startMonoNs, realMinusMonoNs);
        deliver(mode, state, decodeEventRecords(batch.records, ADDON_STRINGS, batch.data, batch.count, true), batch.horizonMonoNs);
      }
    }
    // ... and a flush's answer alone, and a batch with no events (the read horizon only), as a
    // quiet run brings them between probes: arrays of other kinds than a full batch's.
    for (const { mode, state } of paths) {
      deliver(mode, state, decodeEventRecords(FLUSH_ANSWER, [], addonBuffer(new Uint8Array(1)), undefined, true), monoNs());
      deliver(mode, state, decodeEventRecords(FLUSH_ANSWER, [], addonBuffer(new Uint8Array(1)), 0, true), monoNs());
    }
    for (const { mode, stats, state } of paths) {
      state.finish();
      // every reply but the last probe's, which a next batch would bring
      if (stats.matcher.received !== probes - 1) throw new Error(`warm-up: ${stats.matcher.received} of ${probes - 1} synthetic replies matched (${mode})`);
    }
    return probes * paths.length;
  });
}

/**
 * How the run makes a target's stats (run-controller.ts): the warm-up makes its throwaway ones
 * with it, never its own way, since objects made otherwise are shaped otherwise to V8.
 */
export type MakeTargetStats = (target: ResolvedTarget, session: number) => TargetStats;

function throwawayTarget(mode: 'udp' | 'icmp', session: number, makeStats: MakeTargetStats): { mode: 'udp' | 'icmp'; stats: TargetStats; state: RunState } {
  const stats = makeStats({ name: 'warm-up', address: ADDRESS, port: mode === 'udp' ? PORT : 0, family: 4, mode }, session);
  stats.allocateHistograms();
  return { mode, stats, state: new RunState([stats]) };
}

/**
 * PROBES_A_BATCH probes from `firstSeq` on, as one native batch holds them: each one's 'sent'
 * (most with their TX stamp folded in, some with a 'tx' of its own, as both come) and its
 * reply, with kernel stamps 20–90 µs apart; the last probe's reply comes with the next batch,
 * as it does in a run (so that expiry meets a probe still in flight).
 */
function syntheticBatch(mode: 'udp' | 'icmp', session: number, firstSeq: bigint, startMonoNs: bigint, realMinusMonoNs: bigint):
  { records: ArrayBuffer; count: number; data: Buffer; horizonMonoNs: bigint } {
  const events: PackedEvent[] = [];
  const datagrams: Buffer[] = [];
  let offset = 0;
  let horizonMonoNs = startMonoNs;
  const times = (seq: bigint) => {
    const dueMonoNs = startMonoNs + seq * PERIOD_NS;
    const sentMonoNs = dueMonoNs + 50_000n + (seq % 7n) * 1_000n;
    return { dueMonoNs, sentMonoNs, t1Ns: sentMonoNs + realMinusMonoNs, rxMonoNs: sentMonoNs + 20_000n + (seq % 71n) * 1_000n };
  };
  const reply = (seq: bigint): void => {
    const { t1Ns, rxMonoNs } = times(seq);
    const readMonoNs = rxMonoNs + 5_000_000n;
    const datagram = mode === 'udp'
      ? encodeReply(encodeProbe(session, seq, t1Ns, PROBE_MIN_BYTES), t1Ns + 10_000n, t1Ns + 10_000n + (seq % 13n) * 1_000n, 'kernel', 'user')
      : echoReplyTo(encodeEchoRequest(session, seq, t1Ns, ICMP_MIN_BYTES, 4), 4);
    events.push({ kind: KIND_RX, source: SOURCE_KERNEL, port: mode === 'udp' ? PORT : 0, string: 0, data: [offset, datagram.length], fields: {
      [RecordField.StampNs]: rxMonoNs + realMinusMonoNs, [RecordField.RxMonoNs]: rxMonoNs, [RecordField.ReadMonoNs]: readMonoNs } });
    datagrams.push(datagram);
    offset += datagram.length;
    horizonMonoNs = readMonoNs;
  };
  if (firstSeq > 0n) reply(firstSeq - 1n);
  const lastSeq = firstSeq + BigInt(PROBES_A_BATCH) - 1n;
  for (let seq = firstSeq; seq <= lastSeq; seq++) {
    const { dueMonoNs, sentMonoNs, t1Ns } = times(seq);
    const txNs = t1Ns + 3_000n;
    const folded = seq % 8n !== 0n;
    events.push({ kind: KIND_SENT, fields: {
      [RecordField.Seq]: seq, [RecordField.Slot]: seq, [RecordField.DueMonoNs]: dueMonoNs, [RecordField.SentMonoNs]: sentMonoNs,
      [RecordField.T1RealNs]: t1Ns, ...(folded ? { [RecordField.StampNs]: txNs, [RecordField.Count]: BigInt(SOURCE_KERNEL) } : {}) } });
    if (!folded) events.push({ kind: KIND_TX, source: SOURCE_KERNEL, fields: { [RecordField.Seq]: seq, [RecordField.StampNs]: txNs } });
    if (seq !== lastSeq) reply(seq);
  }
  return { records: packEventRecords(events), count: events.length, data: addonBuffer(Buffer.concat(datagrams)), horizonMonoNs };
}
