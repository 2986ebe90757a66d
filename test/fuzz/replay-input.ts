import { decoderTarget } from './decoder-targets.js';
import { emptyTally } from './fuzz-tally.js';
import { InputRecorder } from './fuzz-target.js';
import { regenerate, runInput } from './run-input.js';

/** Runs one input of one decoder in this thread and describes it, its outcome and its checks (pure text). */
export function replayInput(targetName: string, seed: number, index: number, slowMs: number): string | Error {
  const target = decoderTarget(targetName);
  if (target === undefined) return new Error(`no decoder target '${targetName}'`);
  const described = target.describe(regenerate(target, seed, index));
  const tally = emptyTally(target.name);
  runInput(target, seed, index, new InputRecorder(tally, target), slowMs);
  const outcome = tally.accepted > 0 ? `accepted${Object.keys(tally.acceptedAs).length ? ` as ${Object.keys(tally.acceptedAs).join()}` : ''}`
    : tally.crashes > 0 ? 'crashed' : `rejected: ${Object.keys(tally.reasons).join()}`;
  const lines = [`${target.name} (${target.decoder}) seed ${seed} input #${index}${described.note ? ` [${described.note}]` : ''}`];
  if (described.text !== undefined) lines.push(`text ${described.text}`);
  lines.push(`hex  ${described.hex}`, `outcome: ${outcome}, decoder time ${tally.slowestMs.toFixed(2)} ms`);
  for (const sample of tally.samples) lines.push(`BROKEN ${sample.invariant}: ${sample.detail}`);
  if (tally.samples.length === 0) lines.push('every invariant held');
  return lines.join('\n');
}
