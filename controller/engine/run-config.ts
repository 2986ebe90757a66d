import { parseHostPort, type HostPort } from '../../shared/cli/host-port.js';
import { parseDurationNs, parseIntegerIn, parseLossRatio, parseRateHz } from '../../shared/cli/parse-values.js';
import { checkOutputFile } from '../../shared/cli/output-paths.js';
import type { VerdictLimits } from '../report/verdict.js';
import { PROBE_MAX_BYTES, PROBE_MIN_BYTES } from '../../shared/wire/probe-layout.js';
import { parseSocketFlags, SOCKET_FLAG_SPEC, type SocketFlags, type SocketOptions } from '../../shared/cli/socket-flags.js';
import { TIMESTAMP_MODES, type TimestampMode } from '../../shared/cli/timestamp-choice.js';
import { readKeyFile, readTokenFile } from '../../shared/cli/token-file.js';
import { STREAM_PATH } from '../../shared/messages/agent-messages.js';
import { MAX_TARGETS, readTargetsFile } from './targets-file.js';

export const DEFAULT_AGENT_PORT = 7707;
/** per target; the reply ring holds this many probes (~50 B each) */
export const MAX_PROBES_IN_FLIGHT = 1_000_000;
/** --spin auto's cap: µs the native sender busy-waits before each deadline at most, 1% of a core at 100 Hz */
export const DEFAULT_SPIN_US = 100;

/** --spin when not given: auto for a sender pinned to a CPU (--cpu), else 0 (sleep only). */
function defaultSpin(cpu: number | undefined): 'auto' | '0' {
  return cpu === undefined ? '0' : 'auto';
}

export type ProbeMode = 'udp' | 'icmp';

export interface TargetSpec extends HostPort {
  /** label in reports; defaults to HOST:PORT (HOST in ICMP mode) */
  name: string;
  mode: ProbeMode;
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
  socket: SocketOptions;
  /** target name → the agent's stream URL (--agent-ws) */
  agentWs: Map<string, string>;
  /** bearer token for the agent streams (--agent-token-file); null = none */
  agentToken: string | null;
  /** --key-file: UDP probes are signed and only genuine replies count; null = none */
  authKey: Buffer | null;
  /** --verbose: the full tables of every target even when there are many */
  verbose: boolean;
  /** --max-rtt, --max-p99, --max-loss */
  verdict: VerdictLimits;
}

/** The raw flag values as util.parseArgs returns them for `rtprobe run`. */
export interface RunFlags extends SocketFlags {
  target?: string[];
  'targets-file'?: string;
  verbose?: boolean;
  rate?: string;
  duration?: string;
  count?: string;
  size?: string;
  timeout?: string;
  'loss-after'?: string;
  json?: string;
  quiet?: boolean;
  timestamps?: string;
  mode?: string;
  spin?: string;
  'agent-ws'?: string[];
  'agent-token-file'?: string;
  'key-file'?: string;
  'max-rtt'?: string;
  'max-p99'?: string;
  'max-loss'?: string;
}

export const RUN_FLAG_SPEC = {
  target: { type: 'string', multiple: true },
  'targets-file': { type: 'string' },
  verbose: { type: 'boolean' },
  rate: { type: 'string' },
  duration: { type: 'string' },
  count: { type: 'string' },
  size: { type: 'string' },
  timeout: { type: 'string' },
  'loss-after': { type: 'string' },
  json: { type: 'string' },
  quiet: { type: 'boolean' },
  timestamps: { type: 'string' },
  mode: { type: 'string' },
  spin: { type: 'string' },
  'agent-ws': { type: 'string', multiple: true },
  'agent-token-file': { type: 'string' },
  'key-file': { type: 'string' },
  'max-rtt': { type: 'string' },
  'max-p99': { type: 'string' },
  'max-loss': { type: 'string' },
  ...SOCKET_FLAG_SPEC,
} as const;

/** "[NAME=]ws://HOST:PORT[/v1/stream]"; NAME may be left out when there is one target. */
export function parseAgentWs(values: string[], targets: TargetSpec[]): Map<string, string> | Error {
  const links = new Map<string, string>();
  for (const value of values) {
    const match = /^(?:([A-Za-z0-9_.-]{1,64})=)?(wss?:\/\/.+)$/.exec(value);
    if (!match) return new Error(`--agent-ws: '${value}' is not [NAME=]ws://HOST:PORT`);
    let url: URL;
    try {
      url = new URL(match[2] ?? '');
    } catch {
      return new Error(`--agent-ws: '${match[2]}' is not a URL`);
    }
    if (url.pathname === '/' || url.pathname === '') url.pathname = STREAM_PATH;
    const name = match[1] ?? (targets.length === 1 ? targets[0]?.name : undefined);
    if (name === undefined) return new Error(`--agent-ws: with several targets write NAME=${match[2]}`);
    const target = targets.find((t) => t.name === name);
    if (!target) return new Error(`--agent-ws: no --target named '${name}'`);
    if (target.mode === 'icmp') return new Error(`--agent-ws: target '${name}' is probed with ICMP: there is no agent`);
    if (links.has(name)) return new Error(`--agent-ws: target '${name}' given twice`);
    links.set(name, url.toString());
  }
  return links;
}

/** "[NAME=][udp://|icmp://]HOST[:PORT]"; without a scheme the target takes `defaultMode` (--mode). */
export function parseTargetSpec(text: string, defaultMode: ProbeMode = 'udp'): TargetSpec | Error {
  const eq = text.indexOf('=');
  const name = eq >= 0 ? text.slice(0, eq) : '';
  if (eq >= 0 && !/^[A-Za-z0-9_.-]{1,64}$/.test(name)) {
    return new Error(`--target: name '${name}' must be 1-64 letters, digits, '.', '_' or '-'`);
  }
  let address = eq >= 0 ? text.slice(eq + 1) : text;
  let mode = defaultMode;
  const scheme = /^(udp|icmp):\/\//.exec(address);
  if (scheme) {
    mode = scheme[1] as ProbeMode;
    address = address.slice(scheme[0].length);
  }
  const hostPort = parseHostPort('--target', address, DEFAULT_AGENT_PORT);
  if (hostPort instanceof Error) return hostPort;
  if (mode === 'icmp') {
    if (/^\[.*\]:|^[^:\[]+:\d+$/.test(address)) return new Error(`--target: '${text}': ICMP has no port`);
    return { ...hostPort, port: 0, mode, name: name || hostPort.host };
  }
  if (hostPort.port === 0) return new Error(`--target: '${text}' needs a port 1..65535`);
  const shown = hostPort.host.includes(':') ? `[${hostPort.host}]:${hostPort.port}` : `${hostPort.host}:${hostPort.port}`;
  return { ...hostPort, mode, name: name || shown };
}

function orDefault<T>(text: string | undefined, fallback: string, parse: (text: string) => T | Error): T | Error {
  return parse(text ?? fallback);
}

/** --targets-file's lines, then the --target flags, each name once. */
function parseTargets(flags: RunFlags, defaultMode: ProbeMode): TargetSpec[] | Error {
  const fromFile = flags['targets-file'] === undefined ? [] : readTargetsFile(flags['targets-file']);
  if (fromFile instanceof Error) return fromFile;
  const sources = [
    ...fromFile.map((l) => ({ text: l.text, where: `--targets-file ${flags['targets-file']} line ${l.line}` })),
    ...(flags.target ?? []).map((text) => ({ text, where: '' })),
  ];
  if (sources.length === 0) return new Error('--target: at least one target is required (e.g. --target guest=127.0.0.1:7707, or --targets-file FILE)');
  if (sources.length > MAX_TARGETS) return new Error(`--target/--targets-file: ${sources.length} targets, at most ${MAX_TARGETS}`);
  const targets: TargetSpec[] = [];
  const names = new Set<string>();
  for (const { text, where } of sources) {
    const target = parseTargetSpec(text, defaultMode);
    const at = where === '' ? '' : `${where}: `;
    if (target instanceof Error) return new Error(`${at}${target.message}`);
    if (names.has(target.name)) return new Error(`${at}--target: name '${target.name}' given twice`);
    names.add(target.name);
    targets.push(target);
  }
  return targets;
}

/** --max-rtt TIME, --max-p99 TIME, --max-loss PERCENT: the limits of the verdict. */
function parseVerdictLimits(flags: RunFlags): VerdictLimits | Error {
  const latency = (flag: 'max-rtt' | 'max-p99'): number | null | Error => {
    const text = flags[flag];
    if (text === undefined) return null;
    const ns = parseDurationNs(`--${flag}`, text);
    return ns === 0 ? new Error(`--${flag}: must be above 0`) : ns;
  };
  const maxRttNs = latency('max-rtt');
  if (maxRttNs instanceof Error) return maxRttNs;
  const maxP99Ns = latency('max-p99');
  if (maxP99Ns instanceof Error) return maxP99Ns;
  const maxLossRatio = flags['max-loss'] === undefined ? null : parseLossRatio('--max-loss', flags['max-loss'], true);
  if (maxLossRatio instanceof Error) return maxLossRatio;
  return { maxRttNs, maxP99Ns, maxLossRatio };
}

/** Validates `rtprobe run` flags; the first problem comes back as an Error naming its flag. */
export function parseRunConfig(flags: RunFlags): RunConfig | Error {
  const defaultMode = flags.mode ?? 'udp';
  if (defaultMode !== 'udp' && defaultMode !== 'icmp') return new Error(`--mode: '${defaultMode}' is not one of udp, icmp`);
  const targets = parseTargets(flags, defaultMode);
  if (targets instanceof Error) return targets;
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
  const jsonProblem = flags.json === undefined || flags.json === '-' ? null : checkOutputFile('--json', flags.json);
  if (jsonProblem) return jsonProblem;
  const verdict = parseVerdictLimits(flags);
  if (verdict instanceof Error) return verdict;
  const socket = parseSocketFlags(flags);
  if (socket instanceof Error) return socket;
  // The native sender may stay awake for the last stretch before each deadline (see README).
  // auto: only as long as the wake-ups need, up to DEFAULT_SPIN_US, and yielding to many
  // targets; a --spin US the user gives is spun in full. The default spins (auto) only for a
  // sender that has a CPU of its own (--cpu): on a shared CPU the spin's cycles come from the
  // guest or the load beside it, the observer effect issue 15 is about.
  const spin = flags.spin ?? defaultSpin(socket.native.cpu);
  const spinAuto = spin === 'auto';
  const spinUs = spinAuto ? DEFAULT_SPIN_US : parseIntegerIn('--spin', spin, 0, 1_000_000);
  if (spinUs instanceof Error) return new Error(`${spinUs.message} (or auto)`);
  socket.native.spinUs = spinUs;
  socket.native.spinCapped = flags.spin === undefined || spinAuto;
  socket.native.spinAuto = spinAuto;
  const agentWs = parseAgentWs(flags['agent-ws'] ?? [], targets);
  if (agentWs instanceof Error) return agentWs;
  const agentToken = flags['agent-token-file'] === undefined ? null : readTokenFile('--agent-token-file', flags['agent-token-file']);
  if (agentToken instanceof Error) return agentToken;
  const authKey = flags['key-file'] === undefined ? null : readKeyFile('--key-file', flags['key-file']);
  if (authKey instanceof Error) return authKey;
  if (authKey !== null && targets.every((t) => t.mode === 'icmp')) {
    return new Error('--key-file: every target is probed with ICMP, which the guest kernel answers: there is nothing to sign');
  }
  return {
    targets, rateHz, durationNs, count, sizeBytes, timeoutNs, lossAfterNs,
    json: flags.json ?? null, quiet: flags.quiet ?? false, verbose: flags.verbose ?? false, timestamps, socket, agentWs, agentToken, authKey,
    verdict,
  };
}
