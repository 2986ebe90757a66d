/**
 * The device model's knobs as flags (`rtprobe lab up` and the hidden `lab device-model` take
 * the same ones): parsing into DeviceModelKnobs, and the argv that hands them on. Pure.
 */
import { parseDurationNs, parseIntegerIn } from '../../shared/cli/parse-values.js';
import type { DelaySpec, DeviceModelKnobs, DistortDirection } from './native-device-model.js';

/** The raw flag values, as parseFlags returns them. */
export interface KnobFlags {
  stall?: string;
  'frame-cost'?: string;
  queue?: string;
  delay?: string;
  'drop-every'?: string;
  'duplicate-every'?: string;
  'reorder-every'?: string;
  seed?: string;
  distort?: string;
}

export const KNOB_FLAG_SPEC = {
  stall: { type: 'string' },
  'frame-cost': { type: 'string' },
  queue: { type: 'string' },
  delay: { type: 'string' },
  'drop-every': { type: 'string' },
  'duplicate-every': { type: 'string' },
  'reorder-every': { type: 'string' },
  seed: { type: 'string' },
  distort: { type: 'string' },
} as const;

export const KNOBS_HELP = `Device model (the emulated NIC between the host and rtp-emu)
  --stall TIME@EVERY       a competing worker holds the global lock for TIME every EVERY
                           (5ms@2s); frames wait meanwhile, like QEMU's big lock
  --frame-cost TIME        busy wait per frame under the lock (20us)
  --queue N                frames waiting per direction (default 4096); beyond it: dropped
Calibration (UDP and ICMP echo frames only; ARP/NDP pass undistorted)
  --delay SPEC             constant:2ms | uniform:1ms..3ms | spike:5ms/100 (5 ms on every
                           100th frame)
  --drop-every N           drop every Nth frame
  --duplicate-every N      send every Nth frame twice
  --reorder-every N        swap every Nth frame with the next one
  --seed N                 seed of the uniform delay (default 1)
  --distort to-guest|to-host|both
                           the direction(s) distorted (default to-guest: probes only, so a
                           constant delay D adds D once per round trip; both: 2·D)
`;

const MAX_EVERY = 1_000_000_000;

const DISTORT: Record<string, DistortDirection> = { 'to-guest': 'a-to-b', 'to-host': 'b-to-a', both: 'both' };

/** "5ms@2s" → the lock held 5 ms every 2 s. */
export function parseStall(text: string): { stallNs: number; stallEveryNs: number } | Error {
  const [held, every, ...extra] = text.split('@');
  if (held === undefined || every === undefined || extra.length > 0) {
    return new Error(`--stall: '${text}' is not TIME@EVERY (example: 5ms@2s)`);
  }
  const stallNs = parseDurationNs('--stall', held);
  if (stallNs instanceof Error) return stallNs;
  const stallEveryNs = parseDurationNs('--stall', every);
  if (stallEveryNs instanceof Error) return stallEveryNs;
  if (stallNs <= 0) return new Error('--stall: the stall must be longer than 0');
  if (stallNs >= stallEveryNs) return new Error(`--stall: the stall (${held}) must be shorter than its period (${every})`);
  return { stallNs, stallEveryNs };
}

/** "constant:2ms", "uniform:1ms..3ms", "spike:5ms/100". */
export function parseDelay(text: string): DelaySpec | Error {
  const colon = text.indexOf(':');
  const kind = colon < 0 ? text : text.slice(0, colon);
  const arg = colon < 0 ? '' : text.slice(colon + 1);
  const usage = new Error(`--delay: '${text}' is not constant:TIME, uniform:MIN..MAX or spike:TIME/N`);
  if (kind === 'constant') {
    const ns = parseDurationNs('--delay', arg);
    return ns instanceof Error ? ns : { kind, ns };
  }
  if (kind === 'uniform') {
    const [min, max, ...extra] = arg.split('..');
    if (min === undefined || max === undefined || extra.length > 0) return usage;
    const minNs = parseDurationNs('--delay', min);
    if (minNs instanceof Error) return minNs;
    const maxNs = parseDurationNs('--delay', max);
    if (maxNs instanceof Error) return maxNs;
    if (maxNs < minNs) return new Error(`--delay: uniform bounds reversed (${min} > ${max})`);
    return { kind, minNs, maxNs };
  }
  if (kind === 'spike') {
    const [size, every, ...extra] = arg.split('/');
    if (size === undefined || every === undefined || extra.length > 0) return usage;
    const ns = parseDurationNs('--delay', size);
    if (ns instanceof Error) return ns;
    const n = parseIntegerIn('--delay', every, 1, MAX_EVERY);
    return n instanceof Error ? n : { kind, ns, every: n };
  }
  return usage;
}

function parseEvery(flag: string, text: string | undefined): number | undefined | Error {
  return text === undefined ? undefined : parseIntegerIn(flag, text, 1, MAX_EVERY);
}

/** Validates every knob flag; the first bad one is the Error (naming its flag). */
export function parseKnobs(flags: KnobFlags): DeviceModelKnobs | Error {
  const knobs: DeviceModelKnobs = {};
  if (flags.stall !== undefined) {
    const stall = parseStall(flags.stall);
    if (stall instanceof Error) return stall;
    Object.assign(knobs, stall);
  }
  if (flags['frame-cost'] !== undefined) {
    const cost = parseDurationNs('--frame-cost', flags['frame-cost']);
    if (cost instanceof Error) return cost;
    if (cost > 1e9) return new Error('--frame-cost: above 1 s per frame');
    knobs.frameCostNs = cost;
  }
  if (flags.queue !== undefined) {
    const queue = parseIntegerIn('--queue', flags.queue, 1, 1_000_000);
    if (queue instanceof Error) return queue;
    knobs.queueFrames = queue;
  }
  if (flags.delay !== undefined) {
    const delay = parseDelay(flags.delay);
    if (delay instanceof Error) return delay;
    knobs.delay = delay;
  }
  for (const [flag, key] of [['drop-every', 'dropEvery'], ['duplicate-every', 'duplicateEvery'], ['reorder-every', 'reorderEvery']] as const) {
    const every = parseEvery(`--${flag}`, flags[flag]);
    if (every instanceof Error) return every;
    if (every !== undefined) knobs[key] = every;
  }
  if (flags.seed !== undefined) {
    const seed = parseIntegerIn('--seed', flags.seed, 0, Number.MAX_SAFE_INTEGER);
    if (seed instanceof Error) return seed;
    knobs.seed = seed;
  }
  if (flags.distort !== undefined) {
    const distort = DISTORT[flags.distort];
    if (distort === undefined) return new Error(`--distort: '${flags.distort}' is not to-guest, to-host or both`);
    knobs.distort = distort;
  }
  return knobs;
}

/** The knob flags as argv, to hand them on unchanged to `rtprobe lab device-model`. */
export function knobArgv(flags: KnobFlags): string[] {
  const argv: string[] = [];
  for (const name of Object.keys(KNOB_FLAG_SPEC) as Array<keyof KnobFlags>) {
    const value = flags[name];
    if (value !== undefined) argv.push(`--${name}`, value);
  }
  return argv;
}

/** One line per knob that is set, for `lab status`. */
export function describeKnobs(flags: KnobFlags): string[] {
  return (Object.keys(KNOB_FLAG_SPEC) as Array<keyof KnobFlags>)
    .filter((name) => flags[name] !== undefined)
    .map((name) => `--${name} ${flags[name] ?? ''}`);
}
