import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { AgentRecorder, type ArrivedProbe } from '../../../agent/agent-recorder.js';
import { decodeHistogram } from '../../../shared/histogram/histogram-transport.js';
import type { IntervalMessage, SessionEndMessage } from '../../../shared/messages/agent-messages.js';

const PERIOD_NS = 10_000_000n;

function recorder(options: Partial<{ recordOwd: boolean; maxSessions: number; idleMs: number }> = {}) {
  const published: (IntervalMessage | SessionEndMessage)[] = [];
  const r = new AgentRecorder({
    intervalMs: 1000, recordOwd: options.recordOwd ?? false, maxSessions: options.maxSessions ?? 8,
    idleMs: options.idleMs ?? 30_000, publish: (m) => published.push(m),
  });
  const intervals = () => published.filter((m): m is IntervalMessage => m.type === 'interval');
  return { r, published, intervals };
}

/** Probe seq of session 1 sent at seq·10 ms, arriving `delayNs` later, at wall time 10 s + seq·10 ms. */
function probe(seq: number, delayNs = 50_000n, session = 1): ArrivedProbe {
  const t1Ns = 1_000_000_000_000n + BigInt(seq) * PERIOD_NS;
  return { session, seq: BigInt(seq), peer: '127.0.0.1:5000', t1Ns, t2Ns: t1Ns + delayNs, nowMs: 10_000 + seq * 10 };
}

describe('AgentRecorder', () => {
  it('without a stream (publish null) records no session at all: nothing to encode, nobody to read it', () => {
    const r = new AgentRecorder({ intervalMs: 1000, recordOwd: false, maxSessions: 8, idleMs: 30_000, publish: null });
    for (let seq = 0; seq < 250; seq++) r.probe(probe(seq));
    r.turnaround(1, 5_000);
    r.reject('bad-magic');
    r.tick(12_600);
    r.flush(1, 12_600);
    r.endAll(13_000);
    expect(r.sessionCount).toBe(0);
  });

  it('closes one interval per second with increasing ids and every probe counted once', () => {
    const { r, intervals } = recorder();
    for (let seq = 0; seq < 250; seq++) r.probe(probe(seq));
    r.tick(12_600);
    const closed = intervals();
    expect(closed.map((m) => [m.start_ms, m.end_ms])).toEqual([[10_000, 11_000], [11_000, 12_000]]);
    expect(closed.map((m) => m.id)).toEqual([1, 2]);
    expect(closed.map((m) => m.counts.received)).toEqual([100, 100]);
    r.flush(1, 12_600);
    expect(intervals().at(-1)?.counts.received).toBe(50);
    expect(intervals().at(-1)?.end_ms).toBe(12_600);
  });

  it('records IPDV of consecutive probes: arrival spacing minus send spacing', () => {
    const { r, intervals } = recorder();
    r.probe(probe(0, 50_000n));
    r.probe(probe(1, 80_000n)); // arrives 30 µs later than its send spacing
    r.probe(probe(2, 60_000n)); // 20 µs earlier
    r.flush(1, 10_100);
    const ipdv = intervals()[0]?.histograms.ipdv;
    expect(ipdv?.count).toBe(2);
    expect(ipdv?.max_ns).toBe(30_000);
    const decoded = decodeHistogram(ipdv?.encoded ?? '');
    expect(decoded.ok && decoded.histogram.totalCount).toBe(2);
  });

  it('streams histograms in the .hlog encoding, as Java writes it (normalizingIndexOffset 0, ratio the double 1.0)', () => {
    const { r, intervals } = recorder();
    r.probe(probe(0, 50_000n));
    r.probe(probe(1, 80_000n));
    r.flush(1, 10_100);
    const encoded = intervals()[0]?.histograms.ipdv?.encoded ?? '';
    const outer = Buffer.from(encoded, 'base64');
    const block = inflateSync(outer.subarray(8, 8 + outer.readInt32BE(4)));
    expect(block.readInt32BE(8)).toBe(0);
    expect(block.subarray(32, 40).toString('hex')).toBe('3ff0000000000000');
  });

  it('counts gaps as forward loss, a late arrival as reordered that fills its gap, duplicates apart', () => {
    const { r, intervals } = recorder();
    for (const seq of [0, 1, 4, 5, 2, 5, 6]) r.probe(probe(seq));
    r.flush(1, 10_100);
    expect(intervals()[0]?.counts).toMatchObject({ received: 6, gaps: 1, reordered: 1, duplicates: 1 });
  });

  it('a jump of 2^32 or more ahead is a restarted sequence, not loss: gaps stay a safe integer', () => {
    const { r, intervals } = recorder();
    const far = (seq: bigint): ArrivedProbe => ({ ...probe(3), seq });
    for (const seq of [0n, 1n, 2n ** 32n + 2n, 2n ** 32n + 4n, 2n ** 63n, 2n ** 64n - 1n]) r.probe(far(seq));
    r.flush(1, 10_100);
    const counts = intervals()[0]?.counts;
    expect(counts).toMatchObject({ received: 6, gaps: 1, duplicates: 0 }); // only the one missing before 2^32 + 4
    expect(Number.isSafeInteger(counts?.gaps)).toBe(true);
    const { r: edge, intervals: edgeIntervals } = recorder();
    for (const seq of [0n, 2n ** 32n]) edge.probe(far(seq)); // a jump of 2^32 − 1 missing: still loss
    edge.flush(1, 10_100);
    expect(edgeIntervals()[0]?.counts.gaps).toBe(2 ** 32 - 1);
  });

  it('records one-way delay only when clocks are declared synchronised', () => {
    const off = recorder();
    off.r.probe(probe(0, 42_000n));
    off.r.flush(1, 10_100);
    expect(off.intervals()[0]?.histograms.owd).toBeUndefined();
    const on = recorder({ recordOwd: true });
    on.r.probe(probe(0, 42_000n));
    on.r.flush(1, 10_100);
    expect(on.intervals()[0]?.histograms.owd).toMatchObject({ count: 1, max_ns: 42_000 });
  });

  it('keeps sessions apart and bounded: the idlest is ended when a new one arrives', () => {
    const { r, published } = recorder({ maxSessions: 2 });
    r.probe(probe(0, 50_000n, 1));
    r.probe(probe(1, 50_000n, 2));
    r.probe(probe(2, 50_000n, 3));
    expect(r.sessionCount).toBe(2);
    expect(published.find((m) => m.type === 'session-end')).toMatchObject({ session: 1, reason: 'idle' });
  });

  it('ends a session idle for idleMs, and all of them at exit', () => {
    const { r, published } = recorder({ idleMs: 5000 });
    r.probe(probe(0, 50_000n, 1));
    r.tick(16_000);
    expect(r.sessionCount).toBe(0);
    expect(published.at(-1)).toMatchObject({ type: 'session-end', session: 1, reason: 'idle' });
    r.probe(probe(0, 50_000n, 9));
    r.endAll(20_000);
    expect(published.at(-1)).toMatchObject({ type: 'session-end', session: 9, reason: 'agent-exit' });
  });

  it('reports rejected datagrams with the next interval, once', () => {
    const { r, intervals } = recorder();
    r.reject('bad-magic');
    r.reject('bad-magic');
    r.probe(probe(0));
    r.flush(1, 10_100);
    r.flush(1, 10_200);
    expect(intervals().map((m) => m.counts.rejected)).toEqual([{ 'bad-magic': 2 }, {}]);
  });

  it('turnaround goes to its session', () => {
    const { r, intervals } = recorder();
    r.probe(probe(0));
    r.turnaround(1, 12_345);
    r.turnaround(77, 99_999); // unknown session: ignored
    r.flush(1, 10_100);
    expect(intervals()[0]?.histograms.turnaround).toMatchObject({ count: 1, max_ns: 12_345 });
  });
});
