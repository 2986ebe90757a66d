/**
 * How batches cross from the native thread to JavaScript (issue 15, item 1: an allocation-free
 * path): every batch of a socket arrives packed in the same records buffer, reused, and only
 * its own records are read. The addon is the real one, on loopback sockets; a pass-through
 * records what its raw callback gets before the loader decodes it.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createNativeReflector } from '../../agent/native-reflector-socket.js';
import { createNativeTransport } from '../../controller/transport/native-transport.js';
import { RECORD_BYTES } from '../../shared/native/event-records.js';
import type { SentEvent, TransportEvent } from '../../shared/transport/probe-transport.js';
import { OFFSET_SEQ, OFFSET_T1 } from '../../shared/wire/probe-layout.js';
import { encodeProbe } from '../../shared/wire/probe-codec.js';
import { loadAddonNotingRawBatches, type RawBatch } from '../helpers/raw-batches.js';
import { skipNote } from '../helpers/skip.js';
import { waitFor } from '../helpers/wait-for.js';

const rawBatches: RawBatch[] = [];
const loaded = loadAddonNotingRawBatches((batch) => rawBatches.push(batch));
const noAddon = loaded.ok ? null : `the native addon is not loaded (${loaded.reason})`;

const toClose: Array<{ close(): Promise<void> }> = [];
afterAll(async () => {
  await Promise.all(toClose.splice(0).map((c) => c.close()));
});

describe.skipIf(noAddon !== null)(`native batches to JavaScript${skipNote(noAddon)}`, () => {
  it('the batches of a socket come in one records buffer, reused (replaced only when outgrown), and a smaller batch after a larger one yields only its own events', async () => {
    if (!loaded.ok) throw new Error('unreachable: skipped without the addon');
    const addon = loaded.addon;
    const reflector = await createNativeReflector(addon, { bindAddress: '127.0.0.1', port: 0, family: 4, timestamps: 'kernel' }, () => {});
    toClose.push(reflector);
    const events: TransportEvent[] = [];
    const transport = await createNativeTransport(addon, { family: 4, bindAddress: '127.0.0.1', port: 0 }, (batch) => {
      events.push(...batch);
    });
    toClose.push(transport);
    const targets = 20;
    const probes = 20;
    const periodNs = 10_000_000n;
    rawBatches.length = 0;
    // Started 50 ms in the past (a burst of due slots) and flushed every 50 ms: batches of
    // ~60-200 records, and a last one of a few (the final replies and 'done').
    transport.start({
      targets: Array.from({ length: targets }, () => ({ address: '127.0.0.1', port: reflector.localPort, family: 4 as const })),
      templates: Array.from({ length: targets }, (_, t) => encodeProbe(0x900 + t, 0n, 0n, 64)),
      seqOffset: OFFSET_SEQ,
      t1Offset: OFFSET_T1,
      periodNs,
      startMonoNs: process.hrtime.bigint() - 50_000_000n,
      probesPerTarget: BigInt(probes),
    });
    const flusher = setInterval(() => { void transport.flush?.(); }, 50);
    try {
      await waitFor(() => events.some((e) => e.kind === 'done'), { what: () => `done (${events.length} events)`, timeoutMs: 10_000, everyMs: 5 });
      await waitFor(() => events.filter((e) => e.kind === 'rx').length >= targets * probes,
        { what: () => `every reply (${events.filter((e) => e.kind === 'rx').length})`, timeoutMs: 5_000, everyMs: 5 });
    } finally {
      clearInterval(flusher);
    }

    // Every probe once, every reply once: a batch that read past its own records would repeat
    // the larger batch's tail (stale sent and rx records).
    const sent = events.filter((e): e is SentEvent => e.kind === 'sent');
    expect(sent).toHaveLength(targets * probes);
    expect(new Set(sent.map((e) => `${e.target}/${e.seq}`)).size).toBe(targets * probes);
    expect(events.filter((e) => e.kind === 'rx')).toHaveLength(targets * probes);
    expect(events.filter((e) => e.kind === 'done')).toHaveLength(1);

    const batches = rawBatches.filter((b) => b.mode === 'controller');
    console.log(`${batches.length} batches, records per batch: ${batches.map((b) => b.count).join(' ')}; buffers ${[...new Set(batches.map((b) => b.records.byteLength))].join(', ')} B`);
    // A new buffer only when a batch outgrows the one before (it doubles at least).
    batches.forEach((b, i) => {
      const before = batches[i - 1];
      expect(b.count * RECORD_BYTES).toBeLessThanOrEqual(b.records.byteLength);
      if (before && b.records !== before.records) expect(b.count * RECORD_BYTES).toBeGreaterThan(before.records.byteLength);
    });
    expect(new Set(batches.map((b) => b.records)).size).toBeLessThanOrEqual(3);
    // ... and a batch smaller than the one before it in the same buffer: the case that matters.
    expect(batches.some((b, i) => i > 0 && b.records === batches[i - 1]?.records && b.count < (batches[i - 1]?.count ?? 0))).toBe(true);
  });
});
