import { decodeEventRecords, packEventRecords, RecordField, type PackedEvent } from '../../shared/native/event-records.js';
import { monoNs, realNs } from '../../shared/time/clock.js';
import type { TransportEvent } from '../../shared/transport/probe-transport.js';
import { encodeProbe, encodeReply } from '../../shared/wire/probe-codec.js';
import { PROBE_MIN_BYTES } from '../../shared/wire/probe-layout.js';
import { RunState } from '../matching/run-state.js';
import { TargetStats } from '../recording/target-stats.js';
import { echoReplyTo, encodeEchoRequest, ICMP_MIN_BYTES } from '../transport/icmp-codec.js';

/**
 * V8 compiles a function with its optimizing compiler once it has run often enough. At 100 Hz
 * the controller's per-probe path (decode a native batch, match, record) got there 10–40 s
 * into a run: ~70 functions, 1–20 ms each on V8's helper threads, ~26 µs of CPU a probe over
 * seconds 15–35 (measured), that is in the middle of the measurement, beside the guest. So
 * the path runs first on synthetic batches, packed as the native thread packs them, against
 * a throwaway target of each mode the run uses, and V8 compiles it before the first probe.
 * Nothing is sent: the batches are made up in memory.
 */

// Rounds of ROUND_BATCHES batches, a short pause after each for the compiler's jobs to finish and be installed.
const MIN_ROUNDS = 6;
const MAX_ROUNDS = 24;
const ROUND_BATCHES = 4;
const PROBES_A_BATCH = 250; // ~500 events: the native thread's half-full batch
const PERIOD_NS = 10_000_000n;
const SESSION = 0x7e57_0001;
const PORT = 7;
const ADDRESS = '127.0.0.1';
// events.h EventKind and StampSource
const KIND_SENT = 0;
const KIND_TX = 1;
const KIND_RX = 3;
const SOURCE_KERNEL = 2;

/** What the warm-up did: its rounds (ROUND_BATCHES × PROBES_A_BATCH probes per mode each), and the first and last round's time. */
export interface WarmUp { rounds: number; probes: number; firstRoundMs: number; lastRoundMs: number }

/**
 * Runs the path until its rounds stop getting faster (V8 has installed its optimized code):
 * at least MIN_ROUNDS, until a round is no faster than 0.9 × the best before it, at most
 * MAX_ROUNDS; a busy machine, whose compiler threads finish later, gets more rounds. The
 * modes take turns within each round, so that the code compiled serves both in a run with both.
 */
export async function warmUpProbePath(modes: ReadonlySet<'udp' | 'icmp'>): Promise<WarmUp> {
  const startMonoNs = monoNs();
  const realMinusMonoNs = realNs() - startMonoNs;
  const paths = [...modes].map((mode) => {
    const stats = new TargetStats({ name: 'warm-up', address: ADDRESS, port: mode === 'udp' ? PORT : 0, family: 4, mode }, SESSION,
      { capacity: 512, timeoutNs: 1e9, lossAfterNs: 2_000_000_000n });
    stats.allocateHistograms();
    return { mode, stats, state: new RunState([stats]) };
  });
  const done: WarmUp = { rounds: 0, probes: 0, firstRoundMs: 0, lastRoundMs: 0 };
  let seq = 0n;
  let bestMs = Infinity;
  while (done.rounds < MAX_ROUNDS) {
    const roundStartNs = monoNs();
    for (let b = 0; b < ROUND_BATCHES; b++) {
      for (const { mode, state } of paths) {
        const batch = syntheticBatch(mode, seq, startMonoNs, realMinusMonoNs);
        state.apply(decodeEventRecords(batch.records, [ADDRESS], batch.data) as TransportEvent[], mode, 4, batch.horizonMonoNs);
        state.expire(batch.horizonMonoNs);
      }
      seq += BigInt(PROBES_A_BATCH);
    }
    const roundMs = Number(monoNs() - roundStartNs) / 1e6;
    if (done.rounds === 0) done.firstRoundMs = roundMs;
    done.lastRoundMs = roundMs;
    done.rounds++;
    const plateau = roundMs >= 0.9 * bestMs;
    bestMs = Math.min(bestMs, roundMs);
    if (done.rounds >= MIN_ROUNDS && plateau) break;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  for (const { mode, stats, state } of paths) {
    state.finish();
    if (stats.matcher.received !== Number(seq)) throw new Error(`warm-up: ${stats.matcher.received} of ${seq} synthetic replies matched (${mode})`);
    done.probes += Number(seq);
  }
  return done;
}

/**
 * PROBES_A_BATCH probes from `firstSeq` on, as one native batch holds them: each one's 'sent'
 * (most with their TX stamp folded in, some with a 'tx' of its own, as both come) and the
 * reply, with kernel stamps 20–90 µs apart.
 */
function syntheticBatch(mode: 'udp' | 'icmp', firstSeq: bigint, startMonoNs: bigint, realMinusMonoNs: bigint):
  { records: ArrayBuffer; data: Buffer; horizonMonoNs: bigint } {
  const events: PackedEvent[] = [];
  const datagrams: Buffer[] = [];
  let offset = 0;
  let readMonoNs = startMonoNs;
  for (let k = 0n; k < BigInt(PROBES_A_BATCH); k++) {
    const seq = firstSeq + k;
    const dueMonoNs = startMonoNs + seq * PERIOD_NS;
    const sentMonoNs = dueMonoNs + 50_000n + (seq % 7n) * 1_000n;
    const txNs = sentMonoNs + realMinusMonoNs + 3_000n;
    const rxMonoNs = sentMonoNs + 20_000n + (seq % 71n) * 1_000n;
    readMonoNs = rxMonoNs + 5_000_000n;
    const folded = seq % 8n !== 0n;
    events.push({ kind: KIND_SENT, fields: {
      [RecordField.Seq]: seq, [RecordField.Slot]: seq, [RecordField.DueMonoNs]: dueMonoNs, [RecordField.SentMonoNs]: sentMonoNs,
      [RecordField.T1RealNs]: sentMonoNs + realMinusMonoNs, ...(folded ? { [RecordField.StampNs]: txNs, [RecordField.Count]: BigInt(SOURCE_KERNEL) } : {}) } });
    if (!folded) events.push({ kind: KIND_TX, source: SOURCE_KERNEL, fields: { [RecordField.Seq]: seq, [RecordField.StampNs]: txNs } });
    const t1Ns = sentMonoNs + realMinusMonoNs;
    const datagram = mode === 'udp'
      ? encodeReply(encodeProbe(SESSION, seq, t1Ns, PROBE_MIN_BYTES), t1Ns + 10_000n, t1Ns + 10_000n + (seq % 13n) * 1_000n, 'kernel', 'user')
      : echoReplyTo(encodeEchoRequest(SESSION, seq, t1Ns, ICMP_MIN_BYTES, 4), 4);
    events.push({ kind: KIND_RX, source: SOURCE_KERNEL, port: mode === 'udp' ? PORT : 0, string: 0, data: [offset, datagram.length], fields: {
      [RecordField.StampNs]: rxMonoNs + realMinusMonoNs, [RecordField.RxMonoNs]: rxMonoNs, [RecordField.ReadMonoNs]: readMonoNs } });
    datagrams.push(datagram);
    offset += datagram.length;
  }
  return { records: packEventRecords(events), data: Buffer.concat(datagrams), horizonMonoNs: readMonoNs };
}
