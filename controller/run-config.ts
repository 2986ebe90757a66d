import { parseHostPort, type HostPort } from '../shared/cli/host-port.js';
import { parseDurationNs, parseIntegerIn, parseRateHz } from '../shared/cli/parse-values.js';
import { PROBE_MAX_BYTES, PROBE_MIN_BYTES } from '../shared/wire/probe-layout.js';

export const DEFAULT_AGENT_PORT = 7707;
/** per target; the reply ring holds this many probes (~50 B each) */
export const MAX_PROBES_IN_FLIGHT = 1_000_000;

export type TimestampMode = 'auto' | 'kernel' | 'hardware' | 'user';
const TIMESTAMP_MODES: readonly TimestampMode[] = ['auto', 'kernel', 'hardware', 'user'];

export interface TargetSpec extends HostPort {
  /** label in reports; defaults to HOST:PORT */
  name: string;
}

export interface RunConfig {
  targets: TargetSpec[];
  rateHz: number;
  /** run length; null when --count bounds the run */
  durationNs: number | null;
  /** probes per target; null when --duration bounds the run */
  count: number | null;
  sizeBytes: number;
  timeoutNs: number;
  lossAfterNs: number;
  json: string | null;
  quiet: boolean;
  timestamps: TimestampMode;
}

/** The raw flag values as util.parseArgs returns them for `rtprobe run`. */
export interface RunFlags {
  target?: string[];
  rate?: string;
  duration?: string;
  count?: string;
  size?: string;
  timeout?: string;
  'loss-after'?: string;
  json?: string;
  quiet?: boolean;
  timestamps?: string;
}

export const RUN_FLAG_SPEC = {
  target: { type: 'string', multiple: true },
  rate: { type: 'string' },
  duration: { type: 'string' },
  count: { type: 'string' },
  size: { type: 'string' },
  timeout: { type: 'string' },
  'loss-after': { type: 'string' },
  json: { type: 'string' },
  quiet: { type: 'boolean' },
  timestamps: { type: 'string' },
} as const;

/** "[NAME=]HOST[:PORT]" */
export function parseTargetSpec(text: string): TargetSpec | Error {
  const eq = text.indexOf('=');
  const name = eq >= 0 ? text.slice(0, eq) : '';
  if (eq >= 0 && !/^[A-Za-z0-9_.-]{1,64}$/.test(name)) {
    return new Error(`--target: name '${name}' must be 1-64 letters, digits, '.', '_' or '-'`);
  }
  const hostPort = parseHostPort('--target', eq >= 0 ? text.slice(eq + 1) : text, DEFAULT_AGENT_PORT);
  if (hostPort instanceof Error) return hostPort;
  if (hostPort.port === 0) return new Error(`--target: '${text}' needs a port 1..65535`);
  const shown = hostPort.host.includes(':') ? `[${hostPort.host}]:${hostPort.port}` : `${hostPort.host}:${hostPort.port}`;
  return { ...hostPort, name: name || shown };
}

function orDefault<T>(text: string | undefined, fallback: string, parse: (text: string) => T | Error): T | Error {
  return parse(text ?? fallback);
}

/** Validates `rtprobe run` flags; the first problem comes back as an Error naming its flag. */
export function parseRunConfig(flags: RunFlags): RunConfig | Error {
  if (!flags.target || flags.target.length === 0) return new Error('--target: at least one target is required (e.g. --target guest=127.0.0.1:7707)');
  const targets: TargetSpec[] = [];
  for (const text of flags.target) {
    const target = parseTargetSpec(text);
    if (target instanceof Error) return target;
    if (targets.some((t) => t.name === target.name)) return new Error(`--target: name '${target.name}' given twice`);
    targets.push(target);
  }
  const rateHz = orDefault(flags.rate, '100', (t) => parseRateHz('--rate', t));
  if (rateHz instanceof Error) return rateHz;
  if (flags.duration !== undefined && flags.count !== undefined) return new Error('--duration and --count: give one of them, not both');
  const count = flags.count === undefined ? null : parseIntegerIn('--count', flags.count, 1, Number.MAX_SAFE_INTEGER);
  if (count instanceof Error) return count;
  const durationNs = count !== null ? null : orDefault(flags.duration, '30s', (t) => parseDurationNs('--duration', t));
  if (durationNs instanceof Error) return durationNs;
  if (durationNs !== null && durationNs < 1e6) return new Error('--duration: must be at least 1ms');
  const sizeBytes = orDefault(flags.size, String(PROBE_MIN_BYTES), (t) => parseIntegerIn('--size', t, PROBE_MIN_BYTES, PROBE_MAX_BYTES));
  if (sizeBytes instanceof Error) return sizeBytes;
  const timeoutNs = orDefault(flags.timeout, '1s', (t) => parseDurationNs('--timeout', t));
  if (timeoutNs instanceof Error) return timeoutNs;
  const lossAfterNs = orDefault(flags['loss-after'], '10s', (t) => parseDurationNs('--loss-after', t));
  if (lossAfterNs instanceof Error) return lossAfterNs;
  if (lossAfterNs < timeoutNs) return new Error('--loss-after: must not be shorter than --timeout (a late reply is still a reply)');
  if (lossAfterNs > 3600e9) return new Error('--loss-after: at most 1h');
  // Probes in flight are kept until lost: bound them so memory stays constant and small.
  if ((lossAfterNs / 1e9) * rateHz > MAX_PROBES_IN_FLIGHT) {
    return new Error(`--loss-after: ${lossAfterNs / 1e9} s at --rate ${rateHz} Hz keeps more than ${MAX_PROBES_IN_FLIGHT} probes in flight per target; shorten --loss-after`);
  }
  const timestamps = (flags.timestamps ?? 'auto') as TimestampMode;
  if (!TIMESTAMP_MODES.includes(timestamps)) {
    return new Error(`--timestamps: '${flags.timestamps}' is not one of ${TIMESTAMP_MODES.join(', ')}`);
  }
  if (flags.json === '') return new Error('--json: give a file name or - for standard output');
  return {
    targets, rateHz, durationNs, count, sizeBytes, timeoutNs, lossAfterNs,
    json: flags.json ?? null, quiet: flags.quiet ?? false, timestamps,
  };
}
