/**
 * The native addon on real loopback sockets (127.0.0.1 / ::1, port 0): kernel TX/RX stamps,
 * the native reflector's fast path, the isochronous schedule, option errors, RT warnings and
 * the thread lifecycle. Asserts counts and orderings, never absolute latencies.
 */
import { spawnSync } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  loadNativeAddon,
  type NativeAddon,
  type NativeRxEvent,
  type ReflectTxEvent,
  type ReflectedEvent,
} from '../../shared/native/native-addon.js';
import { createNativeReflector, type NativeReflector, type ReflectorEvent } from '../../agent/native-reflector-socket.js';
import { createNativeTransport, type NativeTransport } from '../../controller/transport/native-transport.js';
import type { RxEvent, ScheduleSpec, SentEvent, TransportEvent, TransportEventHandler, TxStampEvent } from '../../shared/transport/probe-transport.js';
import {
  FLAGS_T3_SHIFT,
  OFFSET_FLAGS,
  OFFSET_LENGTH,
  OFFSET_MAGIC,
  OFFSET_RESERVED,
  OFFSET_SEQ,
  OFFSET_SESSION,
  OFFSET_T1,
  OFFSET_T2,
  OFFSET_T3,
  OFFSET_TYPE,
  OFFSET_VERSION,
  PROBE_MAGIC,
  PROBE_TYPE_PROBE,
  PROBE_TYPE_REPLY,
  PROBE_VERSION,
  STAMP_KERNEL,
  STAMP_USER,
} from '../../shared/wire/probe-layout.js';
import { skipNote } from '../helpers/skip.js';
import { unfoldTxStamps } from '../helpers/unfold-tx.js';
import { sleep, waitFor } from '../helpers/wait-for.js';

const addonDisabled = process.env.RTPROBE_NO_ADDON === '1';
const loaded = loadNativeAddon();
const nativeAddon: NativeAddon | undefined = loaded.ok ? loaded.addon : undefined;
const noAddon = nativeAddon ? null : `the native addon is not loaded (${loaded.ok ? '' : loaded.reason})`;
/** A suite that needs the addon: skipped without it, the reason in its title. */
function describeNative(name: string, body: () => void): void {
  describe.skipIf(noAddon !== null)(`${name}${skipNote(noAddon)}`, body);
}
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const addonFile = fileURLToPath(new URL('../../shared/native/build/Release/rtprobe_native.node', import.meta.url));
/** Child processes load the addon as rtprobe does: through its loader (TypeScript, hence tsx). */
const LOADER_URL = new URL('../../shared/native/native-addon.ts', import.meta.url).href;
const CHILD_NODE_FLAGS = ['--import', 'tsx', '--input-type=module', '-e'];

function addon(): NativeAddon {
  if (!nativeAddon) throw new Error('native addon not loaded');
  return nativeAddon;
}

function probe(size: number, session: number, seq = 0n): Buffer {
  const buf = Buffer.alloc(size);
  buf.writeUInt32BE(PROBE_MAGIC, OFFSET_MAGIC);
  buf.writeUInt8(PROBE_VERSION, OFFSET_VERSION);
  buf.writeUInt8(PROBE_TYPE_PROBE, OFFSET_TYPE);
  buf.writeUInt32BE(session, OFFSET_SESSION);
  buf.writeUInt16BE(size, OFFSET_LENGTH);
  buf.writeBigUInt64BE(seq, OFFSET_SEQ);
  return buf;
}

/** Collects event batches and waits for a condition on everything seen so far. */
/** `targets` loopback targets, all to one reflector's port, target t with session `firstSession` + t. */
function manyTargetSchedule(port: number, targets: number, firstSession: number, periodNs: bigint, startMonoNs: bigint,
  probesPerTarget: bigint): ScheduleSpec {
  return {
    targets: Array.from({ length: targets }, () => ({ address: '127.0.0.1', port, family: 4 as const })),
    templates: Array.from({ length: targets }, (_, t) => probe(64, firstSession + t)),
    seqOffset: OFFSET_SEQ,
    t1Offset: OFFSET_T1,
    periodNs,
    startMonoNs,
    probesPerTarget,
  };
}

class Collector<E extends { kind: string }> {
  readonly events: E[] = [];
  readonly batches: number[] = [];
  /** CLOCK_MONOTONIC ns at which each batch reached JS */
  readonly arrivals: bigint[] = [];
  /** TX stamps the thread folded into their sent/reflected event (unfolded into events) */
  folded = 0;
  readonly handler = (events: E[]): void => {
    this.arrivals.push(process.hrtime.bigint());
    this.batches.push(events.length);
    this.events.push(...unfoldTxStamps(events, () => { this.folded++; }));
  };
  waitFor(done: (events: E[]) => boolean, timeoutMs: number, what: string): Promise<void> {
    return waitFor(() => done(this.events), { what: () => `${what} (${this.events.length} events so far)`, timeoutMs, everyMs: 5 });
  }
}

function ipv6LoopbackWorks(): boolean {
  return spawnSync('ip', ['-6', 'addr', 'show', 'lo']).stdout?.toString().includes('::1') ?? false;
}

// Everything opened in a test is closed after it, even when an assertion failed.
const toClose: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(toClose.splice(0).map((c) => c.close()));
});

async function openReflector(
  family: 4 | 6,
  onEvents: (events: ReflectorEvent[]) => void,
  options: { batchIntervalMs?: number; maxSessions?: number; maxSessionsPerSource?: number; maxRatePerS?: number } = {},
): Promise<NativeReflector> {
  const reflector = await createNativeReflector(
    addon(),
    { bindAddress: family === 4 ? '127.0.0.1' : '::1', port: 0, family, timestamps: 'kernel', ...options },
    onEvents,
  );
  toClose.push(reflector);
  return reflector;
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[values.length >> 1] ?? Number.NaN;

async function openTransport(family: 4 | 6, onEvents: TransportEventHandler,
  spin: { spinUs: number; spinCapped: boolean; spinAuto?: boolean } | Record<string, never> = {}): Promise<NativeTransport> {
  const transport = await createNativeTransport(
    addon(),
    { family, bindAddress: family === 4 ? '127.0.0.1' : '::1', port: 0, ...spin },
    onEvents,
  );
  toClose.push(transport);
  return transport;
}

function udpSocket(type: 'udp4' | 'udp6'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(type);
    socket.once('error', reject);
    socket.bind(0, type === 'udp4' ? '127.0.0.1' : '::1', () => resolve(socket));
  });
}

describe('native addon: loading', () => {
  it('loads after npm ci (fails, does not skip, when the build is missing)', () => {
    if (addonDisabled) {
      expect(loaded).toEqual({ ok: false, reason: 'disabled by RTPROBE_NO_ADDON=1' });
      return;
    }
    expect(loaded.ok ? 'loaded' : loaded.reason).toBe('loaded');
    expect(existsSync(addonFile)).toBe(true);
    const mono = addon().monotonicNs();
    // Same clock as process.hrtime.bigint(): CLOCK_MONOTONIC.
    expect(Number(process.hrtime.bigint() - mono)).toBeGreaterThanOrEqual(0);
    expect(Number(process.hrtime.bigint() - mono)).toBeLessThan(1e9);
  });
});

describeNative('native controller transport + native reflector', () => {
  const variants = [
    { family: 4, counterIds: false },
    { family: 6, counterIds: false },
    // TX stamps matched by the socket's OPT_ID counter, as on kernels < 6.13
    { family: 4, counterIds: true },
  ] as const;
  for (const { family, counterIds } of variants) {
    const how = counterIds ? ' (OPT_ID counter, no SCM_TS_OPT_ID)' : '';
    it(`IPv${family}: 50 probes at 200 Hz get kernel TX/RX stamps and kernel-stamped replies${how}`, async (ctx) => {
      if (family === 6 && !ipv6LoopbackWorks()) ctx.skip('no ::1 on this machine');
      if (counterIds) {
        process.env.RTPROBE_TX_ID_COUNTER = '1'; // read when a socket opens
        ctx.onTestFinished(() => {
          delete process.env.RTPROBE_TX_ID_COUNTER;
        });
      }
      const session = 0x1234abcd;
      const probes = 50;
      const fromReflector = new Collector<ReflectorEvent>();
      const reflector = await openReflector(family, fromReflector.handler);
      const fromTransport = new Collector<TransportEvent>();
      const transport = await openTransport(family, fromTransport.handler);
      delete process.env.RTPROBE_TX_ID_COUNTER;
      expect(transport.stampSource).toBe('kernel');
      expect(transport.localPort).toBeGreaterThan(0);

      const periodNs = 5_000_000n;
      transport.start({
        targets: [{ address: family === 4 ? '127.0.0.1' : '::1', port: reflector.localPort, family }],
        templates: [probe(64, session)],
        seqOffset: OFFSET_SEQ,
        t1Offset: OFFSET_T1,
        periodNs,
        startMonoNs: process.hrtime.bigint() + 2_000_000n,
        probesPerTarget: BigInt(probes),
      });
      await fromTransport.waitFor(
        (evs) =>
          evs.some((e) => e.kind === 'done') &&
          evs.filter((e) => e.kind === 'rx').length >= probes &&
          evs.filter((e) => e.kind === 'tx').length >= probes,
        10_000,
        'done, replies and TX stamps',
      );
      await fromReflector.waitFor(
        (evs) => evs.filter((e) => e.kind === 'reflect-tx').length >= probes,
        5_000,
        'reflector TX stamps',
      );

      const events = fromTransport.events;
      const sent = events.filter((e): e is SentEvent => e.kind === 'sent');
      const tx = events.filter((e): e is TxStampEvent => e.kind === 'tx');
      const rx = events.filter((e): e is RxEvent => e.kind === 'rx');
      expect(sent.map((e) => e.seq)).toEqual(Array.from({ length: probes }, (_, i) => BigInt(i)));
      // DoneEvent comes after the last SentEvent.
      expect(events.findIndex((e) => e.kind === 'done')).toBeGreaterThan(events.indexOf(sent.at(-1)!));
      expect(tx).toHaveLength(probes);
      expect(tx.every((e) => e.source === 'kernel' && e.target === 0)).toBe(true);
      // Most stamps are read before their probe's batch leaves and ride in its 'sent' record
      // (one record per probe, not two); the rest come as 'tx' events of their own.
      expect(fromTransport.folded).toBeGreaterThanOrEqual(probes / 2);
      expect(fromReflector.folded).toBeGreaterThanOrEqual(probes / 2);
      expect(rx).toHaveLength(probes);
      expect(rx.every((e) => e.source === 'kernel')).toBe(true);

      const sentBySeq = new Map(sent.map((e) => [e.seq, e]));
      const txBySeq = new Map(tx.map((e) => [e.seq, e]));
      const reflectTx = new Map(
        fromReflector.events.filter((e): e is ReflectTxEvent => e.kind === 'reflect-tx').map((e) => [e.seq, e]),
      );
      for (const reply of rx) {
        const data = reply.data;
        expect(data.length).toBe(64);
        expect(data.readUInt8(OFFSET_TYPE)).toBe(PROBE_TYPE_REPLY);
        expect(data.readUInt32BE(OFFSET_SESSION)).toBe(session);
        const seq = data.readBigUInt64BE(OFFSET_SEQ);
        const s = sentBySeq.get(seq)!;
        const t = txBySeq.get(seq)!;
        expect(s).toBeDefined();
        expect(t).toBeDefined();
        expect(data.readBigUInt64BE(OFFSET_T1)).toBe(s.t1RealNs);
        const kernelRttNs = reply.rxNs - t.txNs;
        const userRttNs = reply.rxMonoNs - s.sentMonoNs;
        expect(kernelRttNs).toBeGreaterThan(0n);
        expect(kernelRttNs).toBeLessThanOrEqual(userRttNs);
        const t2 = data.readBigUInt64BE(OFFSET_T2);
        const t3 = data.readBigUInt64BE(OFFSET_T3);
        expect(t2).toBeLessThanOrEqual(t3);
        expect(data.readUInt16BE(OFFSET_FLAGS)).toBe(STAMP_KERNEL | (STAMP_USER << FLAGS_T3_SHIFT));
        // Kernel order on one clock: probe sent ≤ probe received (T2) ≤ reply sent (T3true).
        expect(t.txNs).toBeLessThanOrEqual(t2);
        const t3True = reflectTx.get(seq);
        expect(t3True?.source).toBe('kernel');
        expect(t3True!.txNs).toBeGreaterThanOrEqual(t3);
        expect(t3True!.txNs).toBeLessThanOrEqual(reply.rxNs);
      }

      const reflected = fromReflector.events.filter((e): e is ReflectedEvent => e.kind === 'reflected');
      expect(reflected).toHaveLength(probes);
      expect(reflected.every((e) => e.session === session && e.port === transport.localPort)).toBe(true);
      expect(reflected[0]!.address).toBe(family === 4 ? '127.0.0.1' : '::1');
      expect(reflected.every((e) => e.t2Source === 'kernel')).toBe(true);
      expect(reflector.stats()).toMatchObject({ reflected: probes, passedToJs: 0, txStamps: probes, sendErrors: 0 });
      expect(transport.stats()).toMatchObject({ sent: probes, txStamps: probes, received: probes, sendErrors: 0 });
    });
  }

  /**
   * `probes` probes at one probe per `periodNs` from a native transport to a native reflector on
   * loopback; returns once sending is done and every reply and reflector TX stamp reached JS.
   */
  async function reflectOneTarget(probes: number, periodNs: bigint, session: number,
    spin: { spinUs: number; spinCapped: boolean; spinAuto?: boolean } | Record<string, never> = {}, reflectorOptions: { batchIntervalMs?: number } = {}) {
    const fromReflector = new Collector<ReflectorEvent>();
    const reflector = await openReflector(4, fromReflector.handler, reflectorOptions);
    const fromTransport = new Collector<TransportEvent>();
    const transport = await openTransport(4, fromTransport.handler, spin);
    const started = performance.now();
    const startMonoNs = process.hrtime.bigint() + 2_000_000n;
    transport.start({
      targets: [{ address: '127.0.0.1', port: reflector.localPort, family: 4 }],
      templates: [probe(64, session)],
      seqOffset: OFFSET_SEQ,
      t1Offset: OFFSET_T1,
      periodNs,
      startMonoNs,
      probesPerTarget: BigInt(probes),
    });
    await fromTransport.waitFor((evs) => evs.some((e) => e.kind === 'done'), 20_000, 'done');
    const seconds = (performance.now() - started) / 1000;
    // Every reply in, and every event of theirs delivered, before counting calls.
    const { sent } = transport.stats();
    await fromTransport.waitFor((evs) => evs.filter((e) => e.kind === 'rx').length >= sent, 10_000, `${sent} replies`);
    await fromReflector.waitFor((evs) => evs.filter((e) => e.kind === 'reflect-tx').length >= sent, 10_000, 'reflector TX stamps');
    return { fromTransport, fromReflector, transport, reflector, seconds, startMonoNs };
  }

  // --spin is bought per deadline: 100 µs before each of 20 000 deadlines a second would be
  // two cores of busy-waiting, taken from the guest being measured (issue 15).
  // And slots closer than 50 µs at up to 1 kHz a target are sent in groups, without a spin;
  // a target rate above 1 kHz (a period under 1 ms) or a spin asked for keeps a wake-up a slot.
  it('the default spin is capped at a tenth of the slot spacing (1 target at 100 Hz: 100 µs, 200 targets: 5 µs); a spin asked for is not; 400 targets go in send groups', async () => {
    const reflector = await openReflector(4, () => {});
    const cases = [
      // targets, spin capped, period, spin in force, send group
      [1, true, 10_000_000n, 100_000, 0],
      [200, true, 10_000_000n, 5_000, 0], // 50 µs apart: not closer than a group
      [200, false, 10_000_000n, 100_000, 0],
      [400, true, 10_000_000n, 0, 50_000], // 25 µs apart: groups
      [400, false, 10_000_000n, 100_000, 0], // a spin given: a wake-up a slot
      [1, true, 25_000n, 2_500, 0], // 40 kHz: 25 µs apart, but a period under 1 ms
    ] as const;
    for (const [targets, spinCapped, periodNs, spinNs, sendGroupNs] of cases) {
      const transport = await openTransport(4, () => {}, { spinUs: 100, spinCapped });
      transport.start(manyTargetSchedule(reflector.localPort, targets, 0x5f00, periodNs, process.hrtime.bigint() + 2_000_000n, 2n));
      await waitFor(() => transport.stats().sent > 0, { what: 'a probe sent', timeoutMs: 5000 });
      expect({ targets, spinCapped, spinNs: transport.stats().spinNs, sendGroupNs: transport.stats().sendGroupNs })
        .toEqual({ targets, spinCapped, spinNs, sendGroupNs });
      await transport.close();
    }
  });

  // Events go to JS in batches: when the last batch is 100 ms old, when 512 are pending, or at
  // once when sending ends. At 5 kHz a probe, its TX stamp and its reply share one call with
  // hundreds of others.
  it('events arrive in batches, not one call per datagram: 1000 probes at 5 kHz, JS calls at most 3/4 of the datagrams', async () => {
    const probes = 1000;
    const { fromTransport, fromReflector, transport, reflector } = await reflectOneTarget(probes, 200_000n, 0x5eed);
    const t = transport.stats();
    const r = reflector.stats();
    const transportDatagrams = t.sent + t.received;
    const reflectorDatagrams = 2 * r.reflected; // each received probe is answered
    const transportCalls = fromTransport.batches.length;
    const reflectorCalls = fromReflector.batches.length;
    console.log(`transport: ${transportCalls} calls for ${transportDatagrams} datagrams (${t.missed} slots missed); `
      + `reflector: ${reflectorCalls} calls for ${reflectorDatagrams} datagrams`);
    expect(t.sent).toBe(probes); // slots missed under load are skipped, not counted as sent
    expect(t.received).toBe(t.sent);
    expect(r.reflected).toBe(t.sent);
    expect(transportCalls).toBeLessThanOrEqual(0.75 * transportDatagrams);
    expect(reflectorCalls).toBeLessThanOrEqual(0.75 * reflectorDatagrams);
  });

  // The agent (agent-command.ts REFLECTOR_BATCH_INTERVAL_MS) asks for its events when it
  // needs them (flush); unasked, its thread hands them to JS once a second.
  it('batchIntervalMs 1000 (the agent): at 100 Hz for 3 s, at most one JS call a second, and every reply accounted', async () => {
    const probes = 300;
    const { fromReflector, reflector, seconds } = await reflectOneTarget(probes, 10_000_000n, 0x5eef, {}, { batchIntervalMs: 1000 });
    const calls = fromReflector.batches.length;
    console.log(`batchIntervalMs 1000, ${seconds.toFixed(1)} s at 100 Hz: reflector ${calls} JS calls`);
    expect(reflector.stats().reflected).toBe(probes);
    expect(fromReflector.events.filter((e) => e.kind === 'reflected')).toHaveLength(probes);
    // one a second, plus the first event (nothing pending before it) and the last
    expect(calls).toBeLessThanOrEqual(Math.ceil(seconds) + 2);
    expect(calls).toBeGreaterThanOrEqual(2);
    await expect(openReflector(4, () => {}, { batchIntervalMs: 5 })).rejects.toThrow(/batchIntervalMs must be an integer 10\.\.10000/);
  });

  // An agent's stream closes an interval when a controller flushes after its last reply; that
  // probe's event must be in it, not in a batch still due (lab-qemu found one missing).
  it('flush(): with batches 10 s apart, every probe answered before the call is in JS when it resolves; after close it resolves at once', async () => {
    const fromReflector = new Collector<ReflectorEvent>();
    const reflector = await openReflector(4, fromReflector.handler, { batchIntervalMs: 10_000 });
    const client = await udpSocket('udp4');
    try {
      for (const seq of [1n, 2n, 3n]) {
        const reply = new Promise<Buffer>((resolve) => client.once('message', resolve));
        client.send(probe(64, 0x5ef1, seq), reflector.localPort, '127.0.0.1');
        expect((await reply).readBigUInt64BE(OFFSET_SEQ)).toBe(seq);
        const reflectedBefore = fromReflector.events.filter((e) => e.kind === 'reflected').length;
        await reflector.flush();
        const reflected = fromReflector.events.filter((e) => e.kind === 'reflected');
        expect(reflected.map((e) => (e as { seq: bigint }).seq)).toEqual([1n, 2n, 3n].slice(0, Number(seq)));
        // the batch after a flush is 10 s away: only flush() brought this probe's event
        if (seq > 1n) expect(reflectedBefore).toBe(Number(seq) - 1);
      }
      // two at once resolve in order, each after the events before it
      await Promise.all([reflector.flush(), reflector.flush()]);
    } finally {
      client.close();
    }
    await reflector.close();
    await reflector.flush();
    expect(fromReflector.events.filter((e) => e.kind === 'reflected')).toHaveLength(3);
  });

  // Issue 15 (quiet agent): an agent's stream asks for a flush when an interval closes, at its
  // timer's phase, and the answer wakes its JavaScript to encode the interval. The answer
  // rides on the reflector's next reply instead, so that this work runs while no probe is due.
  it('flush() on a reflector: answered right after its next reply, or after ~20 ms when no probe comes', async () => {
    const fromReflector = new Collector<ReflectorEvent>();
    const reflector = await openReflector(4, fromReflector.handler, { batchIntervalMs: 10_000 });
    const client = await udpSocket('udp4');
    const idleMs: number[] = [];
    const afterReplyMs: number[] = [];
    let carried = 0;
    try {
      // No probe comes: the thread waits the ride out (a lower bound: it cannot answer sooner).
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        await reflector.flush();
        idleMs.push(performance.now() - t0);
      }
      // A probe sent right after the call: the answer comes with its reflection, at once.
      for (let i = 1; i <= 10; i++) {
        const calledAt = process.hrtime.bigint();
        const flushed = reflector.flush();
        client.send(probe(64, 0x5ef2, BigInt(i)), reflector.localPort, '127.0.0.1');
        await flushed;
        const answeredAt = process.hrtime.bigint();
        const last = fromReflector.events.filter((e): e is ReflectedEvent => e.kind === 'reflected').at(-1);
        if (last?.seq === BigInt(i) && last.rxMonoNs >= calledAt) {
          carried++;
          afterReplyMs.push(Number(answeredAt - last.rxMonoNs) / 1e6);
        }
        await sleep(5); // so that the next call does not find this reply just sent
      }
    } finally {
      client.close();
    }
    afterReplyMs.sort((a, b) => a - b);
    console.log(`flush with no probe: ${idleMs.map((v) => v.toFixed(1)).join(' / ')} ms; with one sent after the call: ${carried} of 10 answers carried it, ` +
      `${afterReplyMs.map((v) => v.toFixed(2)).join(' ')} ms after its reception`);
    expect(Math.min(...idleMs)).toBeGreaterThanOrEqual(15);
    // (a probe held up past the 20 ms ride by a loaded machine goes into the next answer)
    expect(carried).toBeGreaterThanOrEqual(7);
    expect(afterReplyMs[Math.floor(afterReplyMs.length / 2)]).toBeLessThan(10);
  });

  // The controller judges loss at the read horizon its batches carry (RunState.expire); at
  // the end of a run it flushes, so the horizon must then be the time of the flush.
  it("a controller transport's batches carry its read horizon; after flush() it is no earlier than the call", async () => {
    const horizons: bigint[] = [];
    const transport = await openTransport(4, (_events, readUntilMonoNs) => { if (readUntilMonoNs !== undefined) horizons.push(readUntilMonoNs); });
    for (let i = 0; i < 3; i++) {
      const calledAt = process.hrtime.bigint();
      await transport.flush?.();
      const last = horizons.at(-1) ?? 0n;
      expect(last).toBeGreaterThanOrEqual(calledAt);
      expect(last).toBeLessThanOrEqual(process.hrtime.bigint());
      await sleep(20);
    }
    expect(horizons).toHaveLength(3);
    expect([...horizons].sort((a, b) => (a < b ? -1 : 1))).toEqual(horizons);
  });

  // The quiet window (issue 15): the native threads hand events to JS at most every 100 ms
  // (and at once when sending ends), so at 100 Hz JS wakes ~10 times a second, not per probe,
  // and no TX stamp is lost to the batching.
  it('at 100 Hz for 5 s: at most 10 JS calls a second on each side, and every probe has its TX stamp', async () => {
    const probes = 500;
    const periodNs = 10_000_000n;
    const { fromTransport, fromReflector, transport, reflector, seconds, startMonoNs } = await reflectOneTarget(probes, periodNs, 0x5eee);
    const transportCalls = fromTransport.batches.length;
    const reflectorCalls = fromReflector.batches.length;
    console.log(`100 Hz, ${seconds.toFixed(1)} s: transport ${transportCalls} JS calls, reflector ${reflectorCalls}`);
    // 10 a second, plus the first event (nothing pending before it), the end and the replies after it
    expect(transportCalls).toBeLessThanOrEqual(Math.ceil(10 * seconds) + 3);
    expect(reflectorCalls).toBeLessThanOrEqual(Math.ceil(10 * seconds) + 3);
    const tx = fromTransport.events.filter((e) => e.kind === 'tx');
    expect(tx).toHaveLength(probes);
    expect(new Set(tx.map((e) => (e as { seq: bigint }).seq)).size).toBe(probes);
    expect(transport.stats()).toMatchObject({ sent: probes, txStamps: probes, received: probes });
    // The controller's thread sleeps once per slot (replies and TX stamps wait for the next
    // slot's wake-up: the quiet window) and once per batch, in the middle of a gap: 1.1 a
    // probe. The reflector's wakes once per probe (it must answer), and hands its batch out
    // on the first of those after it is due. The first loop woke 3-4 times a probe, the one
    // before the quiet window twice. Margin for wake-ups a loaded machine splits in two.
    const { wakeups } = transport.stats();
    const reflectorWakeups = reflector.stats().wakeups;
    console.log(`wake-ups per probe: controller thread ${(wakeups / probes).toFixed(2)}, reflector thread ${(reflectorWakeups / probes).toFixed(2)}`);
    expect(wakeups).toBeLessThanOrEqual(1.25 * probes);
    expect(reflectorWakeups).toBeLessThanOrEqual(1.25 * probes);
    // No allocation per batch on either thread: ~50 batches each went to JS and came back to
    // their socket's pool, which allocated only its first few (one filling while one is on
    // its way, more only when JS is slow to give them back).
    const allocated = { transport: transport.stats().batchesAllocated, reflector: reflector.stats().batchesAllocated };
    console.log(`event batches allocated: transport ${allocated.transport}, reflector ${allocated.reflector}`);
    expect(allocated.transport).toBeGreaterThanOrEqual(1);
    expect(allocated.transport).toBeLessThanOrEqual(8);
    expect(allocated.reflector).toBeLessThanOrEqual(8);
    // The quiet window: nothing is read between a send and the next slot's wake-up (at the
    // slot here, without a spin; in its spin window with one), however loaded the machine: every reply but the last one (read
    // when sending has ended) is read no earlier than the next slot's due time (less the spin):
    // counted from the slot, since a probe sent late on a loaded machine leaves a shorter gap.
    // Read late, stamped on time: its RTT is the kernel's RX stamp minus the TX stamp.
    const dueAt = new Map(fromTransport.events.filter((e): e is SentEvent => e.kind === 'sent').map((e) => [e.seq, e.dueMonoNs]));
    const txAt = new Map(tx.map((e) => [(e as TxStampEvent).seq, (e as TxStampEvent).txNs]));
    const sentAt = new Map(fromTransport.events.filter((e): e is SentEvent => e.kind === 'sent').map((e) => [e.seq, e.sentMonoNs]));
    const rx = fromTransport.events.filter((e): e is NativeRxEvent => e.kind === 'rx');
    const rttsNs: number[] = [];
    const monoOverKernelNs: number[] = [];
    const readEarly: bigint[] = [];
    for (const e of rx) {
      const seq = e.data.readBigUInt64BE(OFFSET_SEQ);
      rttsNs.push(Number(e.rxNs - (txAt.get(seq) ?? e.rxNs)));
      const dueMonoNs = dueAt.get(seq);
      if (dueMonoNs === undefined) throw new Error(`a reply to seq ${seq}, which was never sent`);
      if (seq !== BigInt(probes - 1) && e.readMonoNs < dueMonoNs + 10_000_000n - 100_000n) readEarly.push(seq);
      // Its reception on the monotonic clock is the kernel stamp brought over, not the late
      // read: the monotonic RTT (the fallback when a wall-clock step spoils the stamps) is the
      // kernel RTT plus the send call's time before its TX stamp, not plus the quiet window.
      expect(e.rxMonoNs).toBeLessThanOrEqual(e.readMonoNs);
      monoOverKernelNs.push(Number(e.rxMonoNs - (sentAt.get(seq) ?? 0n)) - (rttsNs.at(-1) ?? 0));
    }
    console.log(`${rttsNs.length - readEarly.length} of ${rttsNs.length} replies read at the next slot or later; median RTT ${(median(rttsNs) / 1e3).toFixed(1)} µs; `
      + `monotonic RTT over the kernel's: median ${(median(monoOverKernelNs) / 1e3).toFixed(1)} µs, max ${(Math.max(...monoOverKernelNs) / 1e3).toFixed(1)} µs`);
    expect(rttsNs).toHaveLength(probes);
    expect(readEarly).toEqual([]);
    expect(Math.min(...monoOverKernelNs)).toBeGreaterThanOrEqual(-1_000); // (the clocks' offset is read in two calls)
    expect(median(monoOverKernelNs)).toBeLessThan(1e6);
    // The replies are read in rounds (one recvmmsg each; readMonoNs is the round's), at a slot's
    // wake-up once 50 ms have passed since the last round, or before a batch goes to JS (~10 a
    // second): at most 30 rounds a second, where reading at every other slot made 50. None
    // waits for more than that cadence (plus a slot, and a margin for a loaded machine).
    const rounds = new Set(rx.map((e) => e.readMonoNs)).size;
    const heldNs = rx.map((e) => Number(e.readMonoNs - (dueAt.get(e.data.readBigUInt64BE(OFFSET_SEQ)) ?? e.readMonoNs)));
    console.log(`replies read in ${rounds} rounds (${(rounds / seconds).toFixed(1)} a second); longest wait ${(Math.max(...heldNs) / 1e6).toFixed(1)} ms after the slot`);
    expect(rounds).toBeLessThanOrEqual(Math.ceil(30 * seconds) + 3);
    expect(Math.max(...heldNs)).toBeLessThan(150e6);
    // And JavaScript, woken by each batch, runs in the middle of the gap between two slots
    // (the answer in, the next send far), not at a send: the median phase of the batches'
    // arrival in the period (0 = a slot), the last batch (sending ended) aside.
    const phases = fromTransport.arrivals.slice(0, -1).map((at) => Number((at - startMonoNs) % periodNs) / Number(periodNs)).sort((a, b) => a - b);
    const medianPhase = phases[phases.length >> 1] ?? Number.NaN;
    console.log(`JS batches reach JS at a median phase of ${medianPhase.toFixed(2)} of the period (${phases.length} batches)`);
    expect(medianPhase).toBeGreaterThan(0.3);
    expect(medianPhase).toBeLessThan(0.85);
    expect(median(rttsNs)).toBeLessThan(2e6);
  });

  // A spin asked for is not capped: half the gap leaves the quiet window half as long (the
  // batches go out in its middle), a spin longer than the gap leaves none (the thread never
  // sleeps, and reads before each send). Either way every reply is read and batches keep
  // their ~100 ms.
  for (const spinUs of [5_000, 12_000]) {
    it(`at 100 Hz with an uncapped --spin of ${spinUs / 1000} ms: every reply read, batches still ~10 a second`, async () => {
      const probes = 100;
      const { fromTransport, transport } = await reflectOneTarget(probes, 10_000_000n, 0x5ef0, { spinUs, spinCapped: false });
      expect(transport.stats()).toMatchObject({ sent: probes, received: probes, txStamps: probes });
      // ~1 s of sending: the first batch, ~9 more, the end; not one at the end only (or at 512 events)
      const duringSending = fromTransport.batches.length - 1;
      console.log(`uncapped spin ${spinUs} µs: ${fromTransport.batches.length} JS calls`);
      expect(duringSending).toBeGreaterThanOrEqual(6);
      expect(duringSending).toBeLessThanOrEqual(13);
    });
  }

  // --spin auto (the CLI's default): the spin follows how late the thread's wake-ups come, so
  // that a host whose timers wake in a few µs does not burn a fixed spin a probe. Started at a
  // cap no machine's wake-ups need (20 ms), it must come down to their lateness within 16 slots:
  // their median, so that half the slots wake in time for a spin that costs half of what the
  // 90th percentile would.
  it('an adaptive spin starts at its cap and comes down to the wake-ups\' median lateness; sends stay on time', async () => {
    const probes = 80;
    const capNs = 20_000_000;
    const { fromTransport, transport } = await reflectOneTarget(probes, 25_000_000n, 0x5ef1, { spinUs: capNs / 1000, spinCapped: false, spinAuto: true });
    const { spinNs, wakeLateP50Ns, wakeLateP90Ns } = transport.stats();
    const sendErrorsNs = fromTransport.events.flatMap((e) => (e.kind === 'sent' ? [Number(e.sentMonoNs - e.dueMonoNs)] : []));
    console.log(`adaptive spin: wake-ups p50 ${(wakeLateP50Ns / 1000).toFixed(1)}, p90 ${(wakeLateP90Ns / 1000).toFixed(1)} µs late, spin ${(spinNs / 1000).toFixed(1)} µs, send error median ${(median(sendErrorsNs) / 1000).toFixed(1)} µs`);
    expect(wakeLateP50Ns).toBeGreaterThanOrEqual(0);
    expect(wakeLateP90Ns).toBeGreaterThanOrEqual(wakeLateP50Ns);
    expect(wakeLateP90Ns).toBeLessThan(capNs / 2);
    expect(spinNs).toBe(wakeLateP50Ns);
    expect(sendErrorsNs).toHaveLength(probes);
    expect(median(sendErrorsNs)).toBeLessThan(100_000);
  });

  it('two targets: exactly probesPerTarget probes each, seqs 0..N-1, interleaved on schedule, then done', async () => {
    const probes = 20;
    const periodNs = 4_000_000n;
    const a = await openReflector(4, () => {});
    const b = await openReflector(4, () => {});
    const col = new Collector<TransportEvent>();
    const transport = await openTransport(4, col.handler);
    const startMonoNs = process.hrtime.bigint() + 3_000_000n;
    transport.start({
      targets: [
        { address: '127.0.0.1', port: a.localPort, family: 4 },
        { address: '127.0.0.1', port: b.localPort, family: 4 },
      ],
      templates: [probe(64, 1), probe(64, 2)],
      seqOffset: OFFSET_SEQ,
      t1Offset: OFFSET_T1,
      periodNs,
      startMonoNs,
      probesPerTarget: BigInt(probes),
    });
    await col.waitFor((evs) => evs.some((e) => e.kind === 'done'), 10_000, 'done');
    await sleep(20); // a probe sent after done would show within this window
    const doneAt = col.events.findIndex((e) => e.kind === 'done');
    const sent = col.events.filter((e): e is SentEvent => e.kind === 'sent');
    // No probe after done, and done only after all of them.
    expect(col.events.slice(doneAt).some((e) => e.kind === 'sent')).toBe(false);
    for (const target of [0, 1]) {
      const mine = sent.filter((e) => e.target === target);
      expect(mine.map((e) => e.seq)).toEqual(Array.from({ length: probes }, (_, i) => BigInt(i)));
    }
    // Slot k of target t is due at start + k·period + t·period/2; sends follow the due order.
    for (const e of sent) {
      expect(e.dueMonoNs).toBe(startMonoNs + e.slot * periodNs + (BigInt(e.target) * periodNs) / 2n);
      expect(e.sentMonoNs).toBeGreaterThanOrEqual(e.dueMonoNs); // never early
    }
    const dues = sent.map((e) => e.dueMonoNs);
    expect(dues).toEqual([...dues].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)));
    // Interleaving: between two probes of one target lies a probe of the other (unless missed).
    if (countMissed(col.events) === 0) {
      expect(sent.map((e) => e.target)).toEqual(Array.from({ length: 2 * probes }, (_, i) => i % 2));
    }
    expect(col.events.filter((e) => e.kind === 'done')).toHaveLength(1);
  });

  // Probes due at one wake-up leave in one sendmmsg (issue 15, item 4): a schedule whose start
  // lies 8 ms in the past finds ~10 slots due at its first wake-up, which go out in one call;
  // each keeps its seq, its due time and its own TX stamp.
  it('probes due together leave in one sendmmsg, each with its seq, due time and TX stamp', async () => {
    const targets = 12;
    const probes = 10;
    const periodNs = 10_000_000n;
    const reflector = await openReflector(4, () => {});
    const col = new Collector<TransportEvent>();
    const transport = await openTransport(4, col.handler);
    const startMonoNs = process.hrtime.bigint() - 8_000_000n;
    transport.start(manyTargetSchedule(reflector.localPort, targets, 0x700, periodNs, startMonoNs, BigInt(probes)));
    await col.waitFor((evs) => evs.some((e) => e.kind === 'done'), 10_000, 'done');
    const sent = col.events.filter((e): e is SentEvent => e.kind === 'sent');
    await col.waitFor((evs) => evs.filter((e) => e.kind === 'rx').length >= sent.length, 5_000, 'every reply');
    // Each target sends exactly its probes, once each (a slot missed, a first wake-up over a
    // period late, takes no seq: its target sends in a later slot).
    expect(sent.length).toBe(targets * probes);
    for (let t = 0; t < targets; t++) {
      const seqs = sent.filter((e) => e.target === t).map((e) => e.seq);
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => BigInt(i)));
    }
    for (const e of sent) {
      expect(e.dueMonoNs).toBe(startMonoNs + e.slot * periodNs + (BigInt(e.target) * periodNs) / BigInt(targets));
      expect(e.sentMonoNs).toBeGreaterThanOrEqual(e.dueMonoNs);
    }
    const tx = col.events.filter((e): e is TxStampEvent => e.kind === 'tx');
    expect(new Set(tx.map((e) => `${e.target}/${e.seq}`)).size).toBe(sent.length);
    expect(tx.every((e) => e.source === 'kernel')).toBe(true);
    // The first wake-up's probes share the clock read before their one call.
    const firstGroup = sent.filter((e) => e.sentMonoNs === sent[0]?.sentMonoNs);
    const calls = transport.stats().sendCalls;
    console.log(`${sent.length} probes, ${calls} send calls; the first wake-up sent ${firstGroup.length} in one`);
    expect(firstGroup.length).toBeGreaterThanOrEqual(8);
    expect(calls).toBeLessThanOrEqual(sent.length - firstGroup.length + 1);
    expect(transport.stats()).toMatchObject({ sent: sent.length, txStamps: sent.length, sendErrors: 0 });
  });

  // Slots closer than 50 µs are sent in groups (issue 15, item 4): 500 targets at 100 Hz are
  // 20 µs apart, and the thread wakes once for every ~50 µs of them, not per slot, and sends
  // each group with one sendmmsg. Every probe is still sent once.
  it('500 targets at 100 Hz: one wake-up per 50 µs group of slots, not one per slot; every probe sent once with its TX stamp', async () => {
    const targets = 500;
    const probes = 100;
    const periodNs = 10_000_000n;
    const reflector = await openReflector(4, () => {}, { maxSessions: 1024, maxSessionsPerSource: 1024, maxRatePerS: 1e6 });
    const col = new Collector<TransportEvent>();
    const transport = await openTransport(4, col.handler);
    const startMonoNs = process.hrtime.bigint() + 5_000_000n;
    transport.start(manyTargetSchedule(reflector.localPort, targets, 0x1000, periodNs, startMonoNs, BigInt(probes)));
    await col.waitFor((evs) => evs.some((e) => e.kind === 'done'), 20_000, 'done');
    const stats = transport.stats();
    const sent = col.events.filter((e): e is SentEvent => e.kind === 'sent');
    // Each target sends exactly its probes, once each (missed slots take no seq).
    expect(sent.length).toBe(targets * probes);
    expect(new Set(sent.map((e) => `${e.target}/${e.seq}`)).size).toBe(sent.length);
    await col.waitFor((evs) => evs.filter((e) => e.kind === 'tx').length >= sent.length, 5_000, 'a TX stamp per probe');
    const windows = Number(BigInt(probes) * periodNs) / 50_000;
    console.log(`${sent.length} probes (${countMissed(col.events)} missed) in ${windows} windows of 50 µs: `
      + `${stats.wakeups} wake-ups, ${stats.sendCalls} send calls`);
    // One per slot would be 50 000; one per window 20 000 (margin for wake-ups a loaded
    // machine splits: a batch handed to JS, a control message).
    expect(stats).toMatchObject({ sendGroupNs: 50_000, spinNs: 0 });
    expect(stats.wakeups).toBeLessThanOrEqual(1.25 * windows);
    expect(stats.sendCalls).toBeLessThanOrEqual(1.25 * windows);
    // Never early; the group's first slot waits at most its window (50 µs) on purpose.
    expect(sent.every((e) => e.sentMonoNs >= e.dueMonoNs)).toBe(true);
  });

  it('slots more than one period late are reported missed, consume no seq, and are never sent', async () => {
    const probes = 5;
    const periodNs = 10_000_000n;
    const reflector = await openReflector(4, () => {});
    const col = new Collector<TransportEvent>();
    const transport = await openTransport(4, col.handler);
    // A start 10 periods in the past: slots 0..8 are due more than a period before the
    // thread even sees the schedule.
    const startMonoNs = process.hrtime.bigint() - 10n * periodNs;
    transport.start({
      targets: [{ address: '127.0.0.1', port: reflector.localPort, family: 4 }],
      templates: [probe(64, 5)],
      seqOffset: OFFSET_SEQ,
      t1Offset: OFFSET_T1,
      periodNs,
      startMonoNs,
      probesPerTarget: BigInt(probes),
    });
    await col.waitFor((evs) => evs.some((e) => e.kind === 'done'), 10_000, 'done');
    const missed = col.events.filter((e) => e.kind === 'missed');
    const sent = col.events.filter((e): e is SentEvent => e.kind === 'sent');
    // consecutive missed slots come as one event: its first slot and their count
    const missedSlots = missed.flatMap((e) => Array.from({ length: e.count }, (_, i) => e.slot + BigInt(i)));
    for (let k = 0n; k <= 8n; k++) expect(missedSlots).toContain(k);
    expect(missed.length).toBeLessThanOrEqual(2);
    expect(missed.every((e) => e.dueMonoNs === startMonoNs + e.slot * periodNs)).toBe(true);
    expect(sent.map((e) => e.seq)).toEqual([0n, 1n, 2n, 3n, 4n]);
    expect(sent[0]!.slot).toBeGreaterThanOrEqual(9n);
    // A slot is either missed or sent, never both.
    const sentSlots = new Set(sent.map((e) => e.slot));
    expect(missedSlots.some((k) => sentSlots.has(k))).toBe(false);
    expect(transport.stats()).toMatchObject({ sent: probes, missed: missedSlots.length });
  });

  it('stop() ends an endless schedule with done; receiving goes on until close()', async () => {
    const fromReflector = new Collector<ReflectorEvent>();
    const reflector = await openReflector(4, fromReflector.handler);
    const col = new Collector<TransportEvent>();
    const transport = await openTransport(4, col.handler);
    transport.start({
      targets: [{ address: '127.0.0.1', port: reflector.localPort, family: 4 }],
      templates: [probe(64, 7)],
      seqOffset: OFFSET_SEQ,
      t1Offset: OFFSET_T1,
      periodNs: 2_000_000n,
      startMonoNs: process.hrtime.bigint(),
      probesPerTarget: 0n,
    });
    await col.waitFor((evs) => evs.filter((e) => e.kind === 'sent').length >= 5, 5_000, '5 probes');
    transport.stop();
    await col.waitFor((evs) => evs.some((e) => e.kind === 'done'), 5_000, 'done after stop');
    const sentCount = col.events.filter((e) => e.kind === 'sent').length;
    // Still receiving after the schedule ended: a datagram from elsewhere arrives as rx.
    const other = await udpSocket('udp4');
    other.send(Buffer.from('hello'), transport.localPort, '127.0.0.1');
    await col.waitFor(
      (evs) => evs.some((e) => e.kind === 'rx' && e.data.toString() === 'hello'),
      5_000,
      'rx after stop',
    );
    other.close();
    expect(col.events.filter((e) => e.kind === 'sent')).toHaveLength(sentCount);
    // A new schedule may start once the old one is done.
    transport.start({
      targets: [{ address: '127.0.0.1', port: reflector.localPort, family: 4 }],
      templates: [probe(64, 8)],
      seqOffset: OFFSET_SEQ,
      t1Offset: OFFSET_T1,
      periodNs: 1_000_000n,
      startMonoNs: process.hrtime.bigint(),
      probesPerTarget: 3n,
    });
    await col.waitFor((evs) => evs.filter((e) => e.kind === 'done').length === 2, 5_000, 'second done');
    expect(() =>
      transport.start({
        targets: [{ address: '::1', port: 9, family: 6 }],
        templates: [probe(64, 9)],
        seqOffset: OFFSET_SEQ,
        t1Offset: OFFSET_T1,
        periodNs: 1_000_000n,
        startMonoNs: 0n,
        probesPerTarget: 1n,
      }),
    ).toThrow(/IPv6 but this transport is IPv4/);
    expect(() =>
      transport.start({
        targets: [{ address: '127.0.0.1', port: 9, family: 4 }],
        templates: [probe(64, 9)],
        seqOffset: OFFSET_SEQ,
        t1Offset: OFFSET_T1,
        periodNs: 1_000_000n,
        startMonoNs: BigInt(Date.now()) * 1_000_000n, // CLOCK_REALTIME by mistake
        probesPerTarget: 1n,
      }),
    ).toThrow(/must be CLOCK_MONOTONIC ns/);
  });
});

describeNative('native reflector fast path', () => {
  it('does not answer malformed datagrams and hands them to JS; replies have the request length', async () => {
    const fromReflector = new Collector<ReflectorEvent>();
    const reflector = await openReflector(4, fromReflector.handler);
    const client = await udpSocket('udp4');
    const replies: Buffer[] = [];
    client.on('message', (msg) => replies.push(msg));
    try {
      const bad: Array<[string, Buffer]> = [];
      const wrongMagic = probe(64, 1);
      wrongMagic.writeUInt32BE(0xdeadbeef, OFFSET_MAGIC);
      bad.push(['wrong magic', wrongMagic]);
      bad.push(['short', probe(64, 1).subarray(0, 40)]);
      const wrongLength = probe(64, 1);
      wrongLength.writeUInt16BE(100, OFFSET_LENGTH);
      bad.push(['wrong length field', wrongLength]);
      const reply = probe(64, 1);
      reply.writeUInt8(PROBE_TYPE_REPLY, OFFSET_TYPE);
      bad.push(['a reply, not a probe', reply]);
      const unknownFlags = probe(64, 1);
      unknownFlags.writeUInt16BE(0x20, OFFSET_FLAGS);
      bad.push(['unknown flag bits', unknownFlags]);
      const reserved = probe(64, 1);
      reserved.writeUInt16BE(1, OFFSET_RESERVED);
      bad.push(['reserved not zero', reserved]);
      const version = probe(64, 1);
      version.writeUInt8(2, OFFSET_VERSION);
      bad.push(['version 2', version]);

      for (const [, datagram] of bad) client.send(datagram, reflector.localPort, '127.0.0.1');
      await fromReflector.waitFor(
        (evs) => evs.filter((e) => e.kind === 'rx').length >= bad.length,
        5_000,
        'rejected datagrams in JS',
      );
      const rx = fromReflector.events.filter((e): e is NativeRxEvent => e.kind === 'rx');
      expect(rx.map((e) => e.data.toString('hex'))).toEqual(bad.map(([, d]) => d.toString('hex')));
      expect(rx.every((e) => e.source === 'kernel' && e.port === client.address().port)).toBe(true);

      for (const size of [64, 1472]) client.send(probe(size, 42, BigInt(size)), reflector.localPort, '127.0.0.1');
      await fromReflector.waitFor(
        (evs) => evs.filter((e) => e.kind === 'reflect-tx').length >= 2,
        5_000,
        'two reflected probes',
      );
      await waitFor(() => replies.length >= 2, { what: () => `two replies (${replies.length} so far)`, timeoutMs: 5_000 });
      await sleep(100); // would a rejected datagram still be answered?
      expect(replies.map((r) => r.length)).toEqual([64, 1472]);
      for (const r of replies) {
        expect(r.readUInt8(OFFSET_TYPE)).toBe(PROBE_TYPE_REPLY);
        expect(r.readUInt16BE(OFFSET_LENGTH)).toBe(r.length);
        expect(r.readBigUInt64BE(OFFSET_SEQ)).toBe(BigInt(r.length));
      }
      expect(reflector.stats()).toMatchObject({ reflected: 2, passedToJs: bad.length, sendErrors: 0 });
    } finally {
      client.close();
    }
  });
  // Under load the reflector answers each receive batch with one sendmmsg (issue 15, item 4):
  // a burst queues up behind the thread, which then needs fewer system calls than replies,
  // and still every probe is answered once, in order, with its own kernel TX stamp.
  it('a burst is answered a receive batch per sendmmsg: every probe once, in order, each with its TX stamp', async () => {
    const fromReflector = new Collector<ReflectorEvent>();
    const reflector = await openReflector(4, fromReflector.handler, { batchIntervalMs: 20 });
    const client = await udpSocket('udp4');
    const replies: Buffer[] = [];
    client.on('message', (msg) => replies.push(msg));
    const bursts = 10;
    const perBurst = 100;
    const total = bursts * perBurst;
    try {
      for (let b = 0; b < bursts; b++) {
        for (let i = 0; i < perBurst; i++) client.send(probe(64, 0x5e, BigInt(b * perBurst + i)), reflector.localPort, '127.0.0.1');
        await waitFor(() => replies.length >= (b + 1) * perBurst, { what: () => `burst ${b}: ${replies.length} replies`, timeoutMs: 5_000 });
      }
      await fromReflector.waitFor((evs) => evs.filter((e) => e.kind === 'reflect-tx').length >= total, 5_000, 'a TX stamp per reply');
      await sleep(50); // would anything be answered twice?
      expect(replies.map((r) => r.readBigUInt64BE(OFFSET_SEQ))).toEqual(Array.from({ length: total }, (_, i) => BigInt(i)));
      for (const r of replies) {
        expect(r.readUInt8(OFFSET_TYPE)).toBe(PROBE_TYPE_REPLY);
        expect(r.readBigUInt64BE(OFFSET_T3)).toBeGreaterThanOrEqual(r.readBigUInt64BE(OFFSET_T2));
      }
      const stamps = fromReflector.events.filter((e): e is ReflectTxEvent => e.kind === 'reflect-tx');
      expect(stamps.map((e) => e.seq).sort((a, b) => (a < b ? -1 : 1))).toEqual(Array.from({ length: total }, (_, i) => BigInt(i)));
      expect(stamps.every((e) => e.source === 'kernel' && e.txNs >= e.t2Ns)).toBe(true);
      const reflected = fromReflector.events.filter((e): e is ReflectedEvent => e.kind === 'reflected');
      expect(reflected.every((e) => e.address === '127.0.0.1' && e.port === client.address().port)).toBe(true);
      const stats = reflector.stats();
      console.log(`${total} probes in bursts of ${perBurst}: ${stats.sendCalls} send calls (${(total / stats.sendCalls).toFixed(1)} replies a call), ${stats.wakeups} wake-ups`);
      expect(stats).toMatchObject({ reflected: total, txStamps: total, sendErrors: 0 });
      // One call per reply was the path before; the burst outruns the thread, so some of its
      // receive batches hold several probes (here 1.5-2 replies a call).
      expect(stats.sendCalls).toBeLessThanOrEqual(0.9 * total);
    } finally {
      client.close();
    }
  });
});

describeNative('native options', () => {
  const base = { bindAddress: '127.0.0.1', port: 0, family: 4 as const, timestamps: 'kernel' as const };

  it('rejects bad values with clear errors', async () => {
    await expect(createNativeReflector(addon(), { ...base, dscp: 64 }, () => {})).rejects.toThrow(
      /dscp must be an integer 0\.\.63, got 64/,
    );
    await expect(
      createNativeTransport(addon(), { timestamps: 'hardware', bindAddress: '127.0.0.1' }, () => {}),
    ).rejects.toThrow(/hardware' needs an interface/);
    await expect(
      createNativeReflector(addon(), { ...base, interface: 'nosuchif0' }, () => {}),
    ).rejects.toThrow(/interface 'nosuchif0': SO_BINDTODEVICE failed: ENODEV/);
    // The addon checks again when called directly.
    const { ProbeSocket } = addon();
    expect(() => new ProbeSocket({ ...base, mode: 'reflector', dscp: 64 }, () => {})).toThrow(/dscp must be an integer 0\.\.63/);
    expect(() => new ProbeSocket({ ...base, mode: 'reflector', timestamps: 'hardware' }, () => {})).toThrow(
      /hardware timestamps need an interface/,
    );
  });

  it("hardware stamps on an interface without them name the interface and `ethtool -T`", async () => {
    await expect(
      createNativeReflector(addon(), { ...base, timestamps: 'hardware', interface: 'lo' }, () => {}),
    ).rejects.toThrow(/interface 'lo'.*ethtool -T lo/);
  });

  it('accepts dscp, priority, busyPollUs and interface lo, and still reflects', async () => {
    const fromReflector = new Collector<ReflectorEvent>();
    const reflector = await createNativeReflector(
      addon(),
      { ...base, dscp: 46, priority: 5, busyPollUs: 0, interface: 'lo' },
      fromReflector.handler,
    );
    toClose.push(reflector);
    const col = new Collector<TransportEvent>();
    const transport = await createNativeTransport(
      addon(),
      { family: 6, bindAddress: '::', dscp: 46, priority: 3 },
      col.handler,
    );
    toClose.push(transport);
    const v4 = await createNativeTransport(addon(), { bindAddress: '127.0.0.1', dscp: 34, priority: 2 }, col.handler);
    toClose.push(v4);
    v4.start({
      targets: [{ address: '127.0.0.1', port: reflector.localPort, family: 4 }],
      templates: [probe(64, 3)],
      seqOffset: OFFSET_SEQ,
      t1Offset: OFFSET_T1,
      periodNs: 1_000_000n,
      startMonoNs: process.hrtime.bigint(),
      probesPerTarget: 3n,
    });
    await col.waitFor((evs) => evs.filter((e) => e.kind === 'rx').length >= 3, 5_000, '3 replies');
    expect(reflector.stats().reflected).toBe(3);
  });

  it('a CPU that does not exist is a warning, not an error', async () => {
    const transport = await createNativeTransport(addon(), { bindAddress: '127.0.0.1', cpu: 4095 }, () => {});
    toClose.push(transport);
    expect(transport.warnings).toEqual([expect.stringMatching(/^CPU 4095 does not exist/)]);
  });

  it('rtPriority and mlock as an unprivileged user: warnings, and the sender still sends', (ctx) => {
    if (!existsSync('/usr/bin/setpriv') && spawnSync('which', ['setpriv']).status !== 0) {
      ctx.skip('setpriv (util-linux) is not installed: cannot drop privileges here');
    }
    if (process.getuid?.() !== 0) ctx.skip('setpriv --reuid needs root');
    const script = `
      const { loadNativeAddon } = await import(${JSON.stringify(LOADER_URL)});
      const loaded = loadNativeAddon();
      if (!loaded.ok) throw new Error(loaded.reason);
      const addon = loaded.addon;
      const replies = [];
      const refl = new addon.ProbeSocket({ mode: 'reflector', family: 4, bindAddress: '127.0.0.1', port: 0 }, () => {});
      let sent = 0;
      const ctl = new addon.ProbeSocket(
        { mode: 'controller', family: 4, bindAddress: '127.0.0.1', port: 0, rtPriority: 80, mlock: true },
        async (events) => {
          for (const e of events) { if (e.kind === 'sent') sent++; if (e.kind === 'rx') replies.push(e.source); }
          if (events.some((e) => e.kind === 'done')) {
            setTimeout(async () => {
              await ctl.close(); await refl.close();
              console.log(JSON.stringify({ warnings: ctl.warnings, sent, replies }));
            }, 100);
          }
        });
      const tpl = Buffer.alloc(64);
      tpl.writeUInt32BE(${PROBE_MAGIC}, 0); tpl[4] = 1; tpl[5] = 1; tpl.writeUInt16BE(64, 12);
      ctl.start({ targets: [{ address: '127.0.0.1', port: refl.localPort, family: 4 }], templates: [tpl],
        seqOffset: 16, t1Offset: 24, periodNs: 2000000n, startMonoNs: addon.monotonicNs(), probesPerTarget: 5n });
    `;
    const child = spawnSync(
      'setpriv',
      [
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        // Start from a clean slate: an inherited raised RLIMIT_RTPRIO would hide the warning.
        'prlimit',
        '--rtprio=0',
        '--memlock=65536', // below the ~0.5 MiB the thread locks
        process.execPath,
        ...CHILD_NODE_FLAGS,
        script,
      ],
      { cwd: repoRoot, encoding: 'utf8', timeout: 20_000 },
    );
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    const result = JSON.parse(child.stdout) as { warnings: string[]; sent: number; replies: string[] };
    expect(result.sent).toBe(5);
    expect(result.replies).toEqual(['kernel', 'kernel', 'kernel', 'kernel', 'kernel']);
    expect(result.warnings).toContain(
      'SCHED_FIFO priority 80 not set: EPERM — needs CAP_SYS_NICE or RLIMIT_RTPRIO >= 80 (ulimit -r)',
    );
    expect(result.warnings).toContainEqual(
      expect.stringMatching(
        /^mlock of the socket thread's stack and buffers failed: \w+ — needs CAP_IPC_LOCK or a larger RLIMIT_MEMLOCK \(ulimit -l\)$/,
      ),
    );
  });
});

describeNative('native thread lifecycle', () => {
  // What a user pins with taskset -p or raises with chrt -p, found in top -H or ps -L by name.
  it("names its I/O threads rtprobe-send and rtprobe-reflect while they run, and they are gone after close()", async () => {
    const threadNames = (): string[] => readdirSync('/proc/self/task').map((tid) => {
      try { return readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim(); } catch { return ''; }
    });
    const before = threadNames().filter((n) => n.startsWith('rtprobe-'));
    const transport = await openTransport(4, () => {});
    const reflector = await openReflector(4, () => {});
    const running = threadNames();
    expect(running.filter((n) => n === 'rtprobe-send').length).toBe(before.filter((n) => n === 'rtprobe-send').length + 1);
    expect(running.filter((n) => n === 'rtprobe-reflect').length).toBe(before.filter((n) => n === 'rtprobe-reflect').length + 1);
    await transport.close();
    await reflector.close();
    expect(threadNames().filter((n) => n.startsWith('rtprobe-')).sort()).toEqual(before.sort());
  });

  // Each case runs in a child Node: the question is whether that process exits by itself.
  function runChild(body: string): { status: number | null; stdout: string; stderr: string; ms: number } {
    const script = `
      const { loadNativeAddon } = await import(${JSON.stringify(LOADER_URL)});
      const loaded = loadNativeAddon();
      if (!loaded.ok) throw new Error(loaded.reason);
      const addon = loaded.addon;
      const tpl = Buffer.alloc(64);
      tpl.writeUInt32BE(${PROBE_MAGIC}, 0); tpl[4] = 1; tpl[5] = 1; tpl.writeUInt16BE(64, 12);
      const refl = new addon.ProbeSocket({ mode: 'reflector', family: 4, bindAddress: '127.0.0.1', port: 0 }, () => {});
      const events = [];
      const ctl = new addon.ProbeSocket({ mode: 'controller', family: 4, bindAddress: '127.0.0.1', port: 0 },
        (batch) => events.push(...batch));
      ctl.start({ targets: [{ address: '127.0.0.1', port: refl.localPort, family: 4 }], templates: [tpl],
        seqOffset: 16, t1Offset: 24, periodNs: 1000000n, startMonoNs: addon.monotonicNs(), probesPerTarget: 0n });
      ${body}
    `;
    const started = Date.now();
    const child = spawnSync(process.execPath, [...CHILD_NODE_FLAGS, script], {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 15_000,
    });
    return { status: child.status, stdout: child.stdout, stderr: child.stderr, ms: Date.now() - started };
  }

  it('close() joins the thread, delivers the last batch before resolving, and lets Node exit', () => {
    const child = runChild(`
      setTimeout(async () => {
        await Promise.all([ctl.close(), refl.close()]);
        const seen = events.length;
        await ctl.close(); // twice is fine
        setTimeout(() => console.log(JSON.stringify({ seen, after: events.length,
          done: events.filter((e) => e.kind === 'done').length,
          sent: events.filter((e) => e.kind === 'sent').length, stats: ctl.stats() })), 50);
      }, 100);
    `);
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    const out = JSON.parse(child.stdout) as { seen: number; after: number; done: number; sent: number; stats: { sent: number } };
    expect(out.after).toBe(out.seen); // nothing arrives after close() resolved
    expect(out.done).toBe(1); // close() mid-schedule still ends it with done
    expect(out.sent).toBe(out.stats.sent); // every SentEvent was delivered
    expect(out.sent).toBeGreaterThan(10);
  });

  it('an open socket keeps Node alive, unref() lets it exit', () => {
    const child = runChild(`
      setTimeout(() => { ctl.unref(); refl.unref(); console.log('unref'); }, 300);
    `);
    expect(child.status).toBe(0);
    expect(child.stdout.trim()).toBe('unref');
    expect(child.ms).toBeGreaterThanOrEqual(300);
  });

  it('mlock locks only the thread memory: Node runs, collects garbage and exits normally', () => {
    // mlockall would make V8 abort when it frees heap pages (madvise EINVAL on locked pages).
    const child = runChild(`
      const locked = new addon.ProbeSocket({ mode: 'controller', family: 4, bindAddress: '127.0.0.1', port: 0, mlock: true }, () => {});
      let garbage = [];
      for (let i = 0; i < 200; i++) garbage.push(new Array(10000).fill(i));
      garbage = null;
      setTimeout(async () => {
        await Promise.all([ctl.close(), refl.close(), locked.close()]);
        console.log(JSON.stringify({ warnings: locked.warnings, sent: ctl.stats().sent }));
      }, 200);
    `);
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    const out = JSON.parse(child.stdout) as { warnings: string[]; sent: number };
    expect(out.sent).toBeGreaterThan(0);
    // Only a too small RLIMIT_MEMLOCK (< ~0.5 MiB) may refuse it, and then it says so.
    expect(out.warnings.every((w) => w.startsWith('mlock of the socket thread'))).toBe(true);
  });

  it('process.exit() with the threads running exits cleanly', () => {
    const child = runChild(`setTimeout(() => process.exit(3), 100);`);
    expect(child.stderr).toBe('');
    expect(child.status).toBe(3);
  });
});

function countMissed(events: TransportEvent[]): number {
  return events.reduce((sum, e) => sum + (e.kind === 'missed' ? e.count : 0), 0);
}
