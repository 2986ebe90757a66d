/**
 * Runs N generated inputs through each decoder, in worker threads (one target at a time per
 * worker, `parallel` workers). Every input ends accepted or rejected with one reason of its
 * module's list, and passes the target's invariants (targets/*.ts). A decoder that throws is a
 * crash; one that runs past `hangMs` on one input is a hang: its worker is ended, the input is
 * recorded, and a new worker carries on after it.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { DECODER_TARGETS } from './decoder-targets.js';
import type { DecoderWorkerData, DecoderWorkerMessage } from './decoder-worker.js';
import { addSample, emptyTally, mergeTally, type TallyData } from './fuzz-tally.js';
import { regenerate } from './run-input.js';

export interface DecoderFuzzOptions {
  seed: number;
  /** inputs per target */
  count: number;
  /** target names; all when omitted */
  targets?: readonly string[];
  /** one input running longer than this is a hang (default 10 s) */
  hangMs?: number;
  /** one input whose decoder call takes longer than this breaks 'bounded-time' (default 1 s) */
  slowMs?: number;
  /** workers at once (default: the CPUs, at most the targets) */
  parallel?: number;
  onTargetDone?: (tally: TallyData) => void;
}

const WORKER_URL = new URL('./decoder-worker.ts', import.meta.url).href;
const WATCH_EVERY_MS = 100;

/** A worker that loads TypeScript through tsx, as shared/cli/rtprobe.js does for the CLI. */
function startWorker(data: DecoderWorkerData): Worker {
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(WORKER_URL)}); });`;
  return new Worker(bootstrap, { eval: true, workerData: data });
}

interface Segment {
  tally: TallyData;
  /** the first input the tally does not cover */
  next: number;
  /** the input the worker was stuck on, or died on */
  stuckAt?: number;
  why?: string;
}

/** Runs inputs [from, count) until done, a hang or the worker's death. */
function runSegment(name: string, seed: number, from: number, count: number, skip: number[], hangMs: number, slowMs: number): Promise<Segment> {
  const progress = new SharedArrayBuffer(4);
  const current = new Int32Array(progress);
  Atomics.store(current, 0, -1);
  const worker = startWorker({ target: name, seed, from, to: count, skip, slowMs, progress });
  return new Promise((resolve) => {
    let last: Segment = { tally: emptyTally(name), next: from };
    let seenIndex = -1;
    let seenAtMs = performance.now();
    let settled = false;
    const finish = (segment: Segment): void => {
      if (settled) return;
      settled = true;
      clearInterval(watch);
      void worker.terminate();
      resolve(segment);
    };
    const watch = setInterval(() => {
      const index = Atomics.load(current, 0);
      const now = performance.now();
      if (index !== seenIndex) {
        seenIndex = index;
        seenAtMs = now;
      } else if (index >= from && now - seenAtMs > hangMs) {
        finish({ ...last, stuckAt: index, why: `hang: input still running after ${hangMs} ms` });
      }
    }, WATCH_EVERY_MS);
    worker.on('message', (message: DecoderWorkerMessage) => {
      last = { tally: message.tally, next: message.next };
      if (message.kind === 'done') finish(last);
    });
    worker.on('error', (error) => {
      const index = Atomics.load(current, 0);
      finish({ ...last, stuckAt: Math.max(index, from), why: `the worker died: ${error.message}` });
    });
    worker.on('exit', (code) => {
      const index = Atomics.load(current, 0);
      finish({ ...last, stuckAt: Math.max(index, from), why: `the worker exited with ${code}` });
    });
  });
}

/** All N inputs of one target, across as many workers as hangs need. */
export async function fuzzDecoderTarget(name: string, options: DecoderFuzzOptions): Promise<TallyData> {
  const target = DECODER_TARGETS.find((t) => t.name === name);
  if (target === undefined) throw new Error(`no decoder target '${name}'`);
  const hangMs = options.hangMs ?? 10_000;
  const slowMs = options.slowMs ?? 250;
  const total = emptyTally(name);
  const skip: number[] = [];
  const startMs = performance.now();
  for (let from = 0; from < options.count;) {
    const segment = await runSegment(name, options.seed, from, options.count, skip, hangMs, slowMs);
    mergeTally(total, segment.tally);
    if (segment.stuckAt === undefined) break;
    const index = segment.stuckAt;
    const why = segment.why ?? '';
    skip.push(index);
    total.inputs++;
    total.hangs++;
    const invariant = segment.why?.startsWith('hang') ? 'bounded-time' : 'never-throws';
    if (invariant === 'never-throws') total.crashes++;
    total.violations[invariant] = (total.violations[invariant] ?? 0) + 1;
    let described;
    try {
      described = target.describe(regenerate(target, options.seed, index));
    } catch (error) {
      described = { hex: '', note: `not regenerated: ${(error as Error).message}` };
    }
    addSample(total, { invariant, index, detail: why, ...described });
    from = segment.next;
  }
  total.elapsedMs = performance.now() - startMs;
  if (total.bytesOut > total.bytesIn) {
    total.violations['amplification-at-most-1'] = 1;
    addSample(total, { invariant: 'amplification-at-most-1', index: -1, detail: `${total.bytesOut} bytes out for ${total.bytesIn} in`, hex: '' });
  }
  return total;
}

/** Every selected target, `parallel` at a time; tallies in table order. */
export async function fuzzDecoders(options: DecoderFuzzOptions): Promise<TallyData[]> {
  const names = (options.targets ?? DECODER_TARGETS.map((t) => t.name)).filter((n) => DECODER_TARGETS.some((t) => t.name === n));
  const parallel = Math.max(1, Math.min(options.parallel ?? availableParallelism(), names.length));
  const results = new Map<string, TallyData>();
  const queue = [...names];
  await Promise.all(Array.from({ length: parallel }, async () => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
      const tally = await fuzzDecoderTarget(name, options);
      results.set(name, tally);
      options.onTargetDone?.(tally);
    }
  }));
  return names.map((n) => results.get(n) ?? emptyTally(n));
}
