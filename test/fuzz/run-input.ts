import { emptyTally } from './fuzz-tally.js';
import { InputRecorder, type DecoderTarget } from './fuzz-target.js';
import { Prng } from '../helpers/prng.js';

/** The input `index` of a target in the run seeded with `seed`: the same bytes every time. */
export function regenerate(target: DecoderTarget<unknown>, seed: number, index: number): unknown {
  return target.generate(Prng.forInput(seed, target.name, index));
}

/** Runs a slow input once more on a scratch tally: the decoder is deterministic, so only noise makes a difference. */
/** Runs of a slow input: its time is the fastest, so machine noise (other workers on 2 cores) is not the decoder's. */
const RETIME_RUNS = 3;

function retime(target: DecoderTarget<unknown>, input: unknown, record: InputRecorder, slowMs: number): void {
  let fastestMs = Infinity;
  for (let run = 0; run < RETIME_RUNS && fastestMs > slowMs; run++) {
    const scratch = new InputRecorder(emptyTally(target.name), target);
    scratch.begin(record.index, () => ({ hex: '' }));
    target.check(input, scratch);
    fastestMs = Math.min(fastestMs, scratch.decoderTimeMs());
  }
  record.retimed(fastestMs);
}

/** Generates input `index`, runs the target's decoder and checks on it, and records the outcome. */
export function runInput(target: DecoderTarget<unknown>, seed: number, index: number, record: InputRecorder, slowMs: number): void {
  let input: unknown;
  record.begin(index, () => target.describe(input));
  try {
    input = regenerate(target, seed, index);
    target.check(input, record);
    if (record.decoderTimeMs() > slowMs) retime(target, input, record, slowMs);
  } catch (error) {
    record.harnessError(error);
  } finally {
    record.end(slowMs);
  }
}
