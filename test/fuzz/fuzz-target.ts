import { addSample, type InputDescription, type TallyData } from './fuzz-tally.js';
import type { Prng } from '../helpers/prng.js';

/** What a guarded decoder call returns when the decoder threw. */
export const CRASHED: unique symbol = Symbol('crashed');
export type Crashed = typeof CRASHED;

/**
 * One decoder under fuzz: how its inputs are made, shown and checked. `check` calls the
 * decoder through `record.guard` and ends every input in exactly one outcome: accepted, or
 * rejected with one reason from `reasons`.
 */
export interface DecoderTarget<I> {
  readonly name: string;
  /** the decoder under test, as the table names it */
  readonly decoder: string;
  /** the module's reason list; null when reasons are free text (grouped by `groupReason`) */
  readonly reasons: readonly string[] | null;
  groupReason?(reason: string): string;
  generate(rng: Prng): I;
  describe(input: I): InputDescription;
  check(input: I, record: InputRecorder): void;
}

/** Records the outcome and the invariant checks of one input at a time into a tally. */
export class InputRecorder {
  /** the input being recorded */
  index = -1;
  private outcomes = 0;
  /** time spent inside the decoder for this input (the checks around it not counted) */
  private decoderMs = 0;
  private describeInput: () => InputDescription = () => ({ hex: '' });
  private readonly reasons: ReadonlySet<string> | null;

  constructor(readonly tally: TallyData, private readonly target: Pick<DecoderTarget<unknown>, 'reasons' | 'groupReason'>) {
    this.reasons = target.reasons === null ? null : new Set(target.reasons);
  }

  begin(index: number, describe: () => InputDescription): void {
    this.index = index;
    this.outcomes = 0;
    this.decoderMs = 0;
    this.describeInput = describe;
    this.tally.inputs++;
  }

  /** Calls the decoder; a throw is a crash: counted, its message kept, the input's outcome. */
  guard<T>(call: () => T): T | Crashed {
    const startMs = performance.now();
    try {
      return call();
    } catch (error) {
      this.tally.crashes++;
      this.outcomes++;
      this.violation('never-throws', error instanceof Error ? `${error.name}: ${error.message} ${firstFrame(error)}` : String(error));
      return CRASHED;
    } finally {
      this.decoderMs += performance.now() - startMs;
    }
  }

  accepted(as?: string): void {
    this.outcomes++;
    this.tally.accepted++;
    if (as !== undefined) this.tally.acceptedAs[as] = (this.tally.acceptedAs[as] ?? 0) + 1;
  }

  rejected(reason: unknown): void {
    this.outcomes++;
    if (typeof reason !== 'string' || reason === '') {
      this.violation('one-listed-reason', `reason ${JSON.stringify(reason)} is not a reason`);
      return;
    }
    if (this.reasons !== null && !this.reasons.has(reason)) {
      this.violation('one-listed-reason', `reason '${reason}' is not in the module's list`);
    }
    const key = this.target.groupReason ? this.target.groupReason(reason) : reason;
    this.tally.reasons[key] = (this.tally.reasons[key] ?? 0) + 1;
  }

  violation(invariant: string, detail: string): void {
    this.tally.violations[invariant] = (this.tally.violations[invariant] ?? 0) + 1;
    let described: InputDescription;
    try {
      described = this.describeInput();
    } catch {
      described = { hex: '', note: 'the input could not be described' };
    }
    addSample(this.tally, { invariant, index: this.index, detail, ...described });
  }

  decoderTimeMs(): number {
    return this.decoderMs;
  }

  /** The decoder's time from a second run of the same input, when that was quicker (a GC pause or a busy CPU in the first). */
  retimed(decoderMs: number): void {
    this.decoderMs = Math.min(this.decoderMs, decoderMs);
  }

  /** Bytes that came in and went out for this input (amplification). */
  bytes(inBytes: number, outBytes: number): void {
    this.tally.bytesIn += inBytes;
    this.tally.bytesOut += outBytes;
  }

  /** The harness itself failed on this input (a bug here, not in the decoder): counted as its outcome. */
  harnessError(error: unknown): void {
    if (this.outcomes === 0) this.outcomes++;
    this.violation('harness-error', error instanceof Error ? `${error.message} ${firstFrame(error)}` : String(error));
  }

  /** Ends the input: exactly one outcome, and the decoder's time. */
  end(slowMs: number): void {
    const elapsedMs = this.decoderMs;
    if (this.outcomes !== 1) this.violation('one-outcome', `${this.outcomes} outcomes for one input`);
    if (elapsedMs > this.tally.slowestMs) {
      this.tally.slowestMs = elapsedMs;
      this.tally.slowestIndex = this.index;
    }
    if (elapsedMs > slowMs) {
      this.tally.slow++;
      this.violation('bounded-time', `${elapsedMs.toFixed(0)} ms for one input (limit ${slowMs} ms)`);
    }
  }
}

/** Where a throw came from: the first stack frame outside node internals. */
export function firstFrame(error: Error): string {
  const frame = (error.stack ?? '').split('\n').slice(1).find((line) => !line.includes('node:internal'));
  return frame ? `(${frame.trim().replace(/^at /, 'at ')})` : '';
}
