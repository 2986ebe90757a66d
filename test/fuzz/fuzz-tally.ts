/**
 * What a fuzz target saw: inputs, accepted ones, rejections per reason, crashes, bytes in and
 * out, invariant violations (counted per invariant, the first few kept with their input), and
 * the slowest input. Plain data, so a worker can post it and runs can be merged.
 */

/** An input as the report shows it: bytes in hex, text when it is text, and whatever else replays it. */
export interface InputDescription {
  hex: string;
  text?: string;
  note?: string;
}

export interface ViolationSample extends InputDescription {
  invariant: string;
  /** the input's index: with the seed and the target it regenerates the input */
  index: number;
  detail: string;
}

export interface TallyData {
  target: string;
  inputs: number;
  accepted: number;
  /** accepted inputs by what they were accepted as (hlog line kinds, message types) */
  acceptedAs: Record<string, number>;
  reasons: Record<string, number>;
  /** the decoder threw (or, live, the process died) */
  crashes: number;
  /** inputs that ran longer than the hang limit and were abandoned */
  hangs: number;
  bytesIn: number;
  bytesOut: number;
  violations: Record<string, number>;
  samples: ViolationSample[];
  slowestMs: number;
  slowestIndex: number;
  /** inputs slower than the slow limit */
  slow: number;
  elapsedMs: number;
}

/** Kept per invariant, so one frequent violation does not hide the others. */
export const SAMPLES_PER_INVARIANT = 5;
const MAX_HEX_BYTES = 2048;

export function emptyTally(target: string): TallyData {
  return {
    target, inputs: 0, accepted: 0, acceptedAs: {}, reasons: {}, crashes: 0, hangs: 0, bytesIn: 0, bytesOut: 0,
    violations: {}, samples: [], slowestMs: 0, slowestIndex: -1, slow: 0, elapsedMs: 0,
  };
}

function addCounts(into: Record<string, number>, from: Record<string, number>): void {
  for (const [key, n] of Object.entries(from)) into[key] = (into[key] ?? 0) + n;
}

/** Adds b into a (both of the same target). */
export function mergeTally(a: TallyData, b: TallyData): TallyData {
  a.inputs += b.inputs;
  a.accepted += b.accepted;
  addCounts(a.acceptedAs, b.acceptedAs);
  addCounts(a.reasons, b.reasons);
  a.crashes += b.crashes;
  a.hangs += b.hangs;
  a.bytesIn += b.bytesIn;
  a.bytesOut += b.bytesOut;
  addCounts(a.violations, b.violations);
  for (const sample of b.samples) addSample(a, sample);
  if (b.slowestMs > a.slowestMs) {
    a.slowestMs = b.slowestMs;
    a.slowestIndex = b.slowestIndex;
  }
  a.slow += b.slow;
  a.elapsedMs += b.elapsedMs;
  return a;
}

export function addSample(tally: TallyData, sample: ViolationSample): void {
  if (tally.samples.filter((s) => s.invariant === sample.invariant).length < SAMPLES_PER_INVARIANT) tally.samples.push(sample);
}

export function totalViolations(tally: TallyData): number {
  return Object.values(tally.violations).reduce((sum, n) => sum + n, 0);
}

/** Hex of bytes or of a text's UTF-8, cut to MAX_HEX_BYTES (the full input regenerates from seed and index). */
export function describeBytes(data: Uint8Array | string, note?: string): InputDescription {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const hex = bytes.subarray(0, MAX_HEX_BYTES).toString('hex') + (bytes.length > MAX_HEX_BYTES ? `… (${bytes.length} bytes)` : '');
  const described: InputDescription = { hex };
  if (typeof data === 'string') described.text = data.length > 400 ? `${JSON.stringify(data.slice(0, 400))}… (${data.length} chars)` : JSON.stringify(data);
  if (note !== undefined) described.note = note;
  return described;
}
