/**
 * A worker thread that runs inputs [from, to) of one decoder target. It stores the index of
 * the input it is on in shared memory before each one, so the main thread can tell a hang
 * from slow progress and name the input; and it posts its tally now and then, so a worker
 * ended for a hang loses nothing but the inputs since its last post (which are run again).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { decoderTarget } from './decoder-targets.js';
import { emptyTally, type TallyData } from './fuzz-tally.js';
import { InputRecorder } from './fuzz-target.js';
import { runInput } from './run-input.js';

export interface DecoderWorkerData {
  target: string;
  seed: number;
  from: number;
  to: number;
  /** inputs that hung before: not run again */
  skip: number[];
  slowMs: number;
  /** Int32Array[0]: the index of the input being run */
  progress: SharedArrayBuffer;
}

export type DecoderWorkerMessage = { kind: 'snapshot' | 'done'; next: number; tally: TallyData };

const POST_EVERY_MS = 500;

function run(data: DecoderWorkerData): void {
  const target = decoderTarget(data.target);
  if (target === undefined || parentPort === null) throw new Error(`no decoder target '${data.target}'`);
  const progress = new Int32Array(data.progress);
  const skip = new Set(data.skip);
  const tally = emptyTally(target.name);
  const record = new InputRecorder(tally, target);
  const startMs = performance.now();
  let postedMs = startMs;
  for (let index = data.from; index < data.to; index++) {
    Atomics.store(progress, 0, index);
    if (!skip.has(index)) runInput(target, data.seed, index, record, data.slowMs);
    if ((index & 0xff) === 0xff && performance.now() - postedMs > POST_EVERY_MS) {
      postedMs = performance.now();
      tally.elapsedMs = postedMs - startMs;
      const message: DecoderWorkerMessage = { kind: 'snapshot', next: index + 1, tally };
      parentPort.postMessage(message);
    }
  }
  tally.elapsedMs = performance.now() - startMs;
  const message: DecoderWorkerMessage = { kind: 'done', next: data.to, tally };
  parentPort.postMessage(message);
}

run(workerData as DecoderWorkerData);
