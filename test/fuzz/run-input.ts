import { emptyTally } from './fuzz-tally.js';
import { InputRecorder, type DecoderTarget } from './fuzz-target.js';
import { Prng } from './prng.js';

const MIN_HAZARD_MS = 5;

/** The input `index` of a target in the run seeded with `seed`: the same bytes every time. */
export function regenerate(target: DecoderTarget<unknown>, seed: number, index: number): unknown {
  return target.generate(Prng.forInput(seed, target.name, index));
}

export interface RunLimits {
  /** a decoder call longer than this breaks bounded-time */
  slowMs: number;
  /** inputs the target's cost model flags that are still run for real, to confirm it (the rest are counted, not run) */
  confirmHazards: number;
}

/** Runs a slow input once more on a scratch tally: the decoder is deterministic, so only noise makes a difference. */
function retime(target: DecoderTarget<unknown>, input: unknown, record: InputRecorder): void {
  const scratch = new InputRecorder(emptyTally(target.name), target);
  scratch.begin(record.index, () => ({ hex: '' }));
  target.check(input, scratch);
  record.retimed(scratch.decoderTimeMs());
}

/** Generates input `index`, runs the target's decoder and checks on it, and records the outcome. */
export function runInput(target: DecoderTarget<unknown>, seed: number, index: number, record: InputRecorder, limits: RunLimits): void {
  let input: unknown;
  record.begin(index, () => target.describe(input));
  try {
    input = regenerate(target, seed, index);
    const hazard = target.hazard?.(input) ?? null;
    if (hazard !== null && record.tally.hazardsRun >= limits.confirmHazards) {
      record.predictedHang(hazard);
      return;
    }
    if (hazard !== null) record.tally.hazardsRun++;
    target.check(input, record);
    if (hazard === null && record.decoderTimeMs() > limits.slowMs) retime(target, input, record);
    if (hazard === null) return;
    record.violation('bounded-work', `ran to confirm the cost model, ${record.decoderTimeMs().toFixed(0)} ms: ${hazard}`);
    // 2^24 steps take tens of ms on any machine: a quick decode means the model is wrong.
    if (record.decoderTimeMs() < MIN_HAZARD_MS) {
      record.violation('harness-error', `the cost model predicted ${hazard}, the decoder took ${record.decoderTimeMs().toFixed(1)} ms`);
    }
  } catch (error) {
    record.harnessError(error);
  } finally {
    record.end(limits.slowMs);
  }
}
