import { decodeEventRecords, packEventRecords, RecordField, type PackedEvent } from '../shared/native/event-records.js';
import { addonBuffer, addonStrings, runtimeAddress } from '../shared/native/addon-shaped.js';
import { FlushWaiters } from '../shared/native/flush-waiters.js';
import { warmUpInRounds, type WarmUp } from '../shared/native/warm-up-rounds.js';
import { monoNs, realNs } from '../shared/time/clock.js';
import type { AgentCore } from './agent-core.js';
import { deliverReflectorBatch, type ReflectorEvent } from './native-reflector-socket.js';
import { applyReflectorEvents, PeerText } from './reflector-events.js';

/**
 * The agent's per-probe path (a native batch decoded, each reflected probe into the core, its
 * recorder and histograms) run on synthetic batches before the agent listens, so that V8 has
 * compiled it before the first probe, as the controller's warm-up does for its own
 * (controller/engine/warm-up-probe-path.ts). Without it V8 compiled that path in the first tens
 * of seconds of the first run, on the guest's CPU, while the guest was measured: 68 µs a probe
 * of JavaScript and V8 threads over seconds 5–15, against the reflecting thread's 56 (npm run
 * bench, a 5 s warm-up), and a TCG guest's CPU is ten times slower. Nothing is sent or
 * published: the core, its recorder and their sessions are throwaways, made by the agent's
 * own maker so that V8 meets objects of the same shapes.
 */

const ROUND_BATCHES = 8;
const PROBES_A_BATCH = 250; // (a real batch at 100 Hz holds 100: a second, REFLECTOR_BATCH_INTERVAL_MS)
// The handler gets a decoded batch in calls of this many events, not all 250 at once. Called
// 8 times a round over 250 events, V8 reached its loop by on-stack replacement; after a late
// deoptimization (a map it had not met, during that compile) the later calls ran the loop in
// the OSR code, which ticks no budget, and the function itself stayed unoptimized (2 of 30
// warm-ups beside memory-churning load, --trace-opt --trace-deopt). Many short calls tier the
// function up by its own calls. Decode keeps its 250-record batches: with 100, V8 left it unoptimized.
const HANDLER_EVENTS = 12;
const PERIOD_NS = 10_000_000n;
const SESSION = 0x7e57_0002;
const SESSION_HIGH = 0xfe57_0002;
const PORT = 40_000;
const ADDRESS = runtimeAddress(['127', '0', '0', '1']);
const ADDON_STRINGS = addonStrings([ADDRESS]);
// events.h EventKind and StampSource
const KIND_REFLECTED = 6;
const KIND_REFLECT_TX = 7;
const SOURCE_KERNEL = 2;

const WARM_UP_FLUSHES = new FlushWaiters();

/** A fresh core for each round: its sessions start anew, as a run's do (their first probe's branch). */
export type MakeAgentCore = () => AgentCore;

export function warmUpReflectPath(makeCore: MakeAgentCore, family: 4 | 6): Promise<WarmUp> {
  const startMonoNs = monoNs();
  const realMinusMonoNs = realNs() - startMonoNs;
  // Packed once, outside the rounds: a round's time is then the path's alone, which is what
  // stops getting shorter once V8 has compiled it. Sessions above 2^31, which V8 holds apart
  // from small integers, take turns with ones below, as random ones do.
  const batchesOf = (session: number) => Array.from({ length: ROUND_BATCHES },
    (_, b) => syntheticBatch(session, BigInt(b * PROBES_A_BATCH), startMonoNs, realMinusMonoNs));
  const sessions = [batchesOf(SESSION), batchesOf(SESSION_HIGH)];
  const probes = ROUND_BATCHES * PROBES_A_BATCH;
  return warmUpInRounds((index) => {
    const core = makeCore(); // its sessions start anew, as a run's do
    const peers = new PeerText(family);
    const handle = (events: ReflectorEvent[]): void => {
      for (let at = 0; at < events.length; at += HANDLER_EVENTS) applyReflectorEvents(events.slice(at, at + HANDLER_EVENTS), core, peers);
    };
    for (const batch of sessions[index % 2] ?? []) {
      deliverReflectorBatch(decodeEventRecords(batch.records, ADDON_STRINGS, addonBuffer(new Uint8Array(1)), batch.count), handle, WARM_UP_FLUSHES);
    }
    if (core.reflected !== probes) throw new Error(`warm-up: ${core.reflected} of ${probes} synthetic probes reflected`);
    return probes;
  });
}

/**
 * PROBES_A_BATCH probes from `firstSeq` on, 10 ms apart, as the reflector's thread reports them:
 * each a 'reflected' record with kernel stamps (T2 20–90 µs after T1), most with the kernel's
 * send stamp folded in, every eighth with a 'reflect-tx' of its own, as both come.
 */
function syntheticBatch(session: number, firstSeq: bigint, startMonoNs: bigint, realMinusMonoNs: bigint): { records: ArrayBuffer; count: number } {
  const events: PackedEvent[] = [];
  for (let seq = firstSeq; seq < firstSeq + BigInt(PROBES_A_BATCH); seq++) {
    const rxMonoNs = startMonoNs + seq * PERIOD_NS;
    const t2Ns = rxMonoNs + realMinusMonoNs;
    const t1Ns = t2Ns - 20_000n - (seq % 71n) * 1_000n;
    const txNs = t2Ns + 8_000n + (seq % 13n) * 1_000n;
    const folded = seq % 8n !== 0n;
    events.push({ kind: KIND_REFLECTED, source: SOURCE_KERNEL, port: PORT, session, string: 0, fields: {
      [RecordField.Seq]: seq, [RecordField.T1Ns]: t1Ns, [RecordField.T2Ns]: t2Ns, [RecordField.T3Ns]: t2Ns + 5_000n,
      [RecordField.RxMonoNs]: rxMonoNs, ...(folded ? { [RecordField.StampNs]: txNs, [RecordField.Count]: BigInt(SOURCE_KERNEL) } : {}) } });
    if (!folded) {
      events.push({ kind: KIND_REFLECT_TX, source: SOURCE_KERNEL, session, fields: {
        [RecordField.Seq]: seq, [RecordField.StampNs]: txNs, [RecordField.T2Ns]: t2Ns } });
    }
  }
  return { records: packEventRecords(events), count: events.length };
}
