/**
 * Issue 15: what the controller's JavaScript costs per probe, without sockets: the packed
 * records the native thread hands over (a sent event with its TX stamp folded in, then the
 * agent's reply), in batches of 512 events as the thread makes them, decoded and applied to
 * RunState for 1, 100 and 1000 targets at 100 Hz. CPU time of the process (V8's helper
 * threads included), batches of 100 ms each, the first quarter left out as warm-up. At 1000
 * targets the per-target state no longer fits the caches: the cost per probe rises with it.
 * Standalone: `npx tsx test/bench/js-path-cost.ts`.
 */
import { spawnSync } from 'node:child_process';
import { getHeapStatistics } from 'node:v8';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { decodeEventRecords, packEventRecords, type PackedEvent } from '../../shared/native/event-records.js';
import { encodeProbe, encodeReply } from '../../shared/wire/probe-codec.js';
import { monoNs } from '../../shared/time/clock.js';
import { RunState } from '../../controller/matching/run-state.js';
import { TargetStats, type ResolvedTarget } from '../../controller/recording/target-stats.js';

export interface JsPathCostResult {
  /** targets -> CPU ns per probe (its sent and its reply event) */
  nsPerProbe: Record<number, number>;
  /** bytes V8 allocates per probe on the path, 1 target (NaN: not measured) */
  bytesPerProbe: number;
}

const PERIOD_NS = 10_000_000n;
const BATCH_MS = 100;
const PROBES_A_BATCH = 10; // per target: 100 ms at 100 Hz
const NATIVE_BATCH_EVENTS = 512; // probe_socket.h kMaxBatch
const REAL_NS = 1_700_000_000_000_000_000n;
const PORT = 7811;

/** Everything the thread would hand over in batch `b`: per probe a sent (TX stamp folded) and its reply. */
function packedBatches(targets: ResolvedTarget[], sessions: number[], b: number, t0: bigint): { records: ArrayBuffer[]; data: Buffer } {
  const events: PackedEvent[] = [];
  const replies: Buffer[] = [];
  let offset = 0;
  for (let k = 0; k < PROBES_A_BATCH; k++) {
    const seq = BigInt(b * PROBES_A_BATCH + k);
    targets.forEach((_, t) => {
      const due = t0 + seq * PERIOD_NS + BigInt(t) * 10_000n;
      // fields: 0 seq, 1 slot, 2 due, 3 sent, 4 T1, 5 TX stamp, 10 its source (2: kernel)
      events.push({ kind: 0, target: t, fields: { 0: seq, 1: seq, 2: due, 3: due + 3_000n, 4: REAL_NS + due, 5: REAL_NS + due + 3_500n, 10: 2n } });
    });
    targets.forEach((_, t) => {
      const due = t0 + seq * PERIOD_NS + BigInt(t) * 10_000n;
      const reply = encodeReply(encodeProbe(sessions[t] ?? 0, seq, REAL_NS + due, 64), REAL_NS + due + 20_000n, REAL_NS + due + 45_000n, 'kernel', 'kernel');
      // an rx: 5 RX stamp, 6 RX monotonic; its address is string t
      events.push({ kind: 3, source: 2, port: PORT, string: t, data: [offset, reply.length],
        fields: { 5: REAL_NS + due + 70_000n + BigInt(t % 7) * 1_000n, 6: due + 75_000n } });
      replies.push(reply);
      offset += reply.length;
    });
  }
  const records: ArrayBuffer[] = [];
  for (let first = 0; first < events.length; first += NATIVE_BATCH_EVENTS) records.push(packEventRecords(events.slice(first, first + NATIVE_BATCH_EVENTS)));
  return { records, data: Buffer.concat(replies) };
}

interface PackedBatch { records: ArrayBuffer[]; data: Buffer; horizon: bigint }

/** The path for `count` targets: `pack` makes batch `b` (100 ms of probes), `apply` hands it over and returns the CPU µs it took. */
function pathFor(count: number): { pack: (b: number) => PackedBatch; apply: (batch: PackedBatch) => number; received: () => number } {
  const targets: ResolvedTarget[] = Array.from({ length: count }, (_, i) => ({
    name: `t${i}`, address: `127.0.${100 + Math.floor(i / 250)}.${1 + (i % 250)}`, port: PORT, family: 4, mode: 'udp' }));
  const sessions = targets.map((_, i) => 0x1000 + i);
  const lossAfterNs = 2_000_000_000n;
  const capacity = Math.ceil((Number(lossAfterNs) + 2e9) / Number(PERIOD_NS)) + 16; // as run-controller sizes it
  const stats = targets.map((t, i) => new TargetStats(t, sessions[i] ?? 0, { capacity, timeoutNs: 1e9, lossAfterNs }));
  const state = new RunState(stats);
  const addresses = targets.map((t) => t.address);
  const t0 = monoNs();
  return {
    pack: (b) => ({ ...packedBatches(targets, sessions, b, t0), horizon: t0 + BigInt(b * BATCH_MS) * 1_000_000n }),
    apply: ({ records, data, horizon }) => {
      const before = process.cpuUsage();
      for (const batch of records) state.apply(decodeEventRecords(batch, addresses, data, undefined, true) as Parameters<RunState['apply']>[0], 'udp', 4, horizon);
      state.expire(horizon);
      const used = process.cpuUsage(before);
      return used.user + used.system;
    },
    received: () => stats[0]?.matcher.received ?? 0,
  };
}

/** CPU ns per probe over `batches` batches of 100 ms for `count` targets. */
function nsPerProbe(count: number, batches: number): number {
  const path = pathFor(count);
  const warmUp = Math.floor(batches / 4);
  let cpuUs = 0;
  for (let b = 0; b < batches; b++) {
    const used = path.apply(path.pack(b));
    if (b >= warmUp) cpuUs += used;
  }
  if (path.received() !== batches * PROBES_A_BATCH) throw new Error(`the path lost replies: ${path.received()} of ${batches * PROBES_A_BATCH}`);
  return (cpuUs * 1000) / ((batches - warmUp) * PROBES_A_BATCH * count);
}

const BYTES_FLAG = '--bytes-a-probe';
const WARM_BATCHES = 300;
const MEASURED_BATCHES = 100;

/**
 * Bytes the path allocates a probe (1 target): V8's heap growth over MEASURED_BATCHES batches,
 * packed beforehand, after WARM_BATCHES to warm up, in a Node whose new space (256 MB) holds
 * it all, so that no collection runs in between.
 */
function bytesPerProbeHere(): number {
  const path = pathFor(1);
  for (let b = 0; b < WARM_BATCHES; b++) path.apply(path.pack(b));
  const batches = Array.from({ length: MEASURED_BATCHES }, (_, i) => path.pack(WARM_BATCHES + i));
  const before = getHeapStatistics().used_heap_size;
  for (const batch of batches) path.apply(batch);
  const grown = getHeapStatistics().used_heap_size - before;
  if (path.received() !== (WARM_BATCHES + MEASURED_BATCHES) * PROBES_A_BATCH) throw new Error('the path lost replies');
  return grown / (MEASURED_BATCHES * PROBES_A_BATCH);
}

/** bytesPerProbeHere in a child Node with the new space it needs; NaN when it fails. */
function bytesPerProbe(): number {
  const child = spawnSync(process.execPath, ['--min-semi-space-size=256', '--max-semi-space-size=256', '--import', 'tsx',
    fileURLToPath(import.meta.url), BYTES_FLAG], { encoding: 'utf8', timeout: 120_000 });
  return child.status === 0 ? Number(child.stdout.trim()) : Number.NaN;
}

export function measureJsPathCost(): JsPathCostResult {
  // about 600 000 probes each; fewer batches as targets grow
  return { nsPerProbe: { 1: nsPerProbe(1, 8_000), 100: nsPerProbe(100, 600), 1000: nsPerProbe(1000, 60) }, bytesPerProbe: bytesPerProbe() };
}

export function renderJsPathCost(result: JsPathCostResult): string {
  return Object.entries(result.nsPerProbe)
    .map(([targets, ns]) => `${targets} target(s): ${(ns / 1000).toFixed(2)} µs CPU a probe (decode + match + record); at 100 Hz ${(ns * Number(targets) * 100 / 1e7).toFixed(1)} % of a core`)
    .join('\n') + `\n1 target: ${Number.isNaN(result.bytesPerProbe) ? '(not measured)' : `${result.bytesPerProbe.toFixed(0)} bytes allocated a probe`} `
    + '(V8 heap growth over 10 000 probes with no collection in between; each page of it this VM faults in again after a scavenge)';
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(process.argv.includes(BYTES_FLAG) ? bytesPerProbeHere().toFixed(0) : renderJsPathCost(measureJsPathCost()));
}
