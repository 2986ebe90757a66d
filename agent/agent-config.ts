import { isIP } from 'node:net';
import { parseHostPort } from '../shared/cli/host-port.js';
import { parseDurationNs, parseIntegerIn, parseRateHz } from '../shared/cli/parse-values.js';
import { parseSocketFlags, SOCKET_FLAG_SPEC, type SocketFlags, type SocketOptions } from '../shared/cli/socket-flags.js';
import { TIMESTAMP_MODES, type TimestampMode } from '../shared/cli/timestamp-choice.js';
import { readKeyFile, readTokenFile } from '../shared/cli/token-file.js';
import type { ReflectorProtection } from './dgram-reflector.js';
import { sharePerAddress } from './probe-guard.js';

export const DEFAULT_LISTEN = '0.0.0.0:7707';
export const DEFAULT_WS = '0.0.0.0:7708';
/** probes a second per source: ten times the default 100 Hz, so one controller at 1 kHz fits */
export const DEFAULT_MAX_RATE = '1000';

export interface AgentStreamConfig {
  host: string;
  port: number;
  /** null only with --insecure-no-auth */
  token: string | null;
  replayMs: number;
}

export interface AgentConfig {
  host: string;
  port: number;
  family: 4 | 6;
  timestamps: TimestampMode;
  socket: SocketOptions;
  /** the WebSocket stream; null when not asked for */
  stream: AgentStreamConfig | null;
  intervalMs: number;
  clockSync: { mode: 'none' | 'ptp' | 'ntp'; errorNs: number | null };
  maxSessions: number;
  /** --key-file, --max-rate, --max-sessions as the reflector enforces them */
  protection: ReflectorProtection;
  /** freeze the kernel trace on a controller's breach: the tracefs dir, or null to search */
  traceOnBreach: { dir: string | null } | null;
  /** --timer-latency: the guest timer's measuring thread; null when off */
  timer: AgentTimerConfig | null;
}

export interface AgentTimerConfig {
  intervalNs: number;
  /** SCHED_FIFO priority asked for */
  priority: number;
  /** pin to this CPU; null = not pinned */
  cpu: number | null;
}

/** cyclictest's usual measuring priority, below the kernel's own 99 (watchdog, migration) */
export const DEFAULT_TIMER_PRIORITY = 95;


export const AGENT_FLAG_SPEC = {
  listen: { type: 'string' },
  timestamps: { type: 'string' },
  ws: { type: 'string' },
  'token-file': { type: 'string' },
  'insecure-no-auth': { type: 'boolean' },
  replay: { type: 'string' },
  'stream-interval': { type: 'string' },
  /** deprecated spelling of --stream-interval */
  interval: { type: 'string' },
  'clock-sync': { type: 'string' },
  'clock-error': { type: 'string' },
  'max-sessions': { type: 'string' },
  'max-sessions-per-source': { type: 'string' },
  'key-file': { type: 'string' },
  'max-rate': { type: 'string' },
  'trace-on-breach': { type: 'boolean' },
  tracefs: { type: 'string' },
  'timer-latency': { type: 'boolean' },
  'timer-interval': { type: 'string' },
  'timer-priority': { type: 'string' },
  'timer-cpu': { type: 'string' },
  ...SOCKET_FLAG_SPEC,
} as const;

export interface AgentFlags extends SocketFlags {
  listen?: string;
  timestamps?: string;
  ws?: string;
  'token-file'?: string;
  'insecure-no-auth'?: boolean;
  replay?: string;
  'stream-interval'?: string;
  interval?: string;
  'clock-sync'?: string;
  'clock-error'?: string;
  'max-sessions'?: string;
  'max-sessions-per-source'?: string;
  'key-file'?: string;
  'max-rate'?: string;
  'trace-on-breach'?: boolean;
  tracefs?: string;
  'timer-latency'?: boolean;
  'timer-interval'?: string;
  'timer-priority'?: string;
  'timer-cpu'?: string;
}

function parseNumericHost(flag: string, text: string, defaultPort: number): { host: string; port: number; family: 4 | 6 } | Error {
  const parsed = parseHostPort(flag, text, defaultPort);
  if (parsed instanceof Error) return parsed;
  const family = isIP(parsed.host);
  if (family !== 4 && family !== 6) return new Error(`${flag}: '${parsed.host}' is not a numeric IPv4 or IPv6 address of this host`);
  return { ...parsed, family };
}

function parseStream(flags: AgentFlags): AgentStreamConfig | null | Error {
  const wanted = flags.ws !== undefined || flags['token-file'] !== undefined || flags['insecure-no-auth'] === true;
  if (!wanted) return null;
  if (flags['token-file'] !== undefined && flags['insecure-no-auth']) {
    return new Error('--insecure-no-auth: conflicts with --token-file; give one of them');
  }
  if (flags['token-file'] === undefined && !flags['insecure-no-auth']) {
    return new Error('--ws: the stream needs --token-file FILE (a bearer token), or --insecure-no-auth on a trusted network');
  }
  const listen = parseNumericHost('--ws', flags.ws ?? DEFAULT_WS, 7708);
  if (listen instanceof Error) return listen;
  const token = flags['token-file'] === undefined ? null : readTokenFile('--token-file', flags['token-file']);
  if (token instanceof Error) return token;
  const replayNs = parseDurationNs('--replay', flags.replay ?? '10m');
  if (replayNs instanceof Error) return replayNs;
  if (replayNs > 24 * 3600e9) return new Error('--replay: at most 24h');
  return { host: listen.host, port: listen.port, token, replayMs: replayNs / 1e6 };
}

/** --timer-latency and its options; the options alone are an error (they would do nothing). */
export function parseTimerFlags(flags: AgentFlags): AgentTimerConfig | null | Error {
  if (!flags['timer-latency']) {
    const stray = (['timer-interval', 'timer-priority', 'timer-cpu'] as const).find((flag) => flags[flag] !== undefined);
    return stray === undefined ? null : new Error(`--${stray}: only with --timer-latency`);
  }
  const intervalNs = parseDurationNs('--timer-interval', flags['timer-interval'] ?? '1ms');
  if (intervalNs instanceof Error) return intervalNs;
  if (intervalNs < 50e3 || intervalNs > 1e9) return new Error('--timer-interval: must be 50us..1s');
  const priority = parseIntegerIn('--timer-priority', flags['timer-priority'] ?? String(DEFAULT_TIMER_PRIORITY), 1, 99);
  if (priority instanceof Error) return priority;
  const cpu = flags['timer-cpu'] === undefined ? null : parseIntegerIn('--timer-cpu', flags['timer-cpu'], 0, 4095);
  if (cpu instanceof Error) return cpu;
  return { intervalNs: Math.round(intervalNs), priority, cpu };
}

export function parseAgentConfig(flags: AgentFlags): AgentConfig | Error {
  const listen = parseNumericHost('--listen', flags.listen ?? DEFAULT_LISTEN, 7707);
  if (listen instanceof Error) return listen;
  const timestamps = (flags.timestamps ?? 'auto') as TimestampMode;
  if (!TIMESTAMP_MODES.includes(timestamps)) return new Error(`--timestamps: '${flags.timestamps}' is not one of ${TIMESTAMP_MODES.join(', ')}`);
  const socket = parseSocketFlags(flags);
  if (socket instanceof Error) return socket;
  const stream = parseStream(flags);
  if (stream instanceof Error) return stream;
  if (flags.interval !== undefined && flags['stream-interval'] !== undefined) {
    return new Error('--interval: is the old spelling of --stream-interval; give one of them');
  }
  const intervalNs = parseDurationNs('--stream-interval', flags['stream-interval'] ?? flags.interval ?? '1s');
  if (intervalNs instanceof Error) return intervalNs;
  if (intervalNs < 100e6 || intervalNs > 3600e9) return new Error('--stream-interval: must be 100ms..1h');
  const mode = flags['clock-sync'] ?? 'none';
  if (mode !== 'none' && mode !== 'ptp' && mode !== 'ntp') return new Error(`--clock-sync: '${mode}' is not one of ptp, ntp`);
  if (mode !== 'none' && flags['clock-error'] === undefined) {
    return new Error('--clock-sync: also give --clock-error (the bound on the clock offset, e.g. 20us): one-way delays are reported with it');
  }
  if (mode === 'none' && flags['clock-error'] !== undefined) return new Error('--clock-error: only with --clock-sync ptp|ntp');
  const errorNs = flags['clock-error'] === undefined ? null : parseDurationNs('--clock-error', flags['clock-error']);
  if (errorNs instanceof Error) return errorNs;
  const maxSessions = parseIntegerIn('--max-sessions', flags['max-sessions'] ?? '16', 1, 1024);
  if (maxSessions instanceof Error) return maxSessions;
  // One controller probing many addresses of this agent is one source address: it needs as
  // many places as targets, more than the default quarter.
  const maxSessionsPerSource = parseIntegerIn('--max-sessions-per-source',
    flags['max-sessions-per-source'] ?? String(sharePerAddress(maxSessions)), 1, maxSessions);
  if (maxSessionsPerSource instanceof Error) return maxSessionsPerSource;
  const maxRateText = flags['max-rate'] ?? DEFAULT_MAX_RATE;
  const maxRatePerS = maxRateText === 'off' ? null : parseRateHz('--max-rate', maxRateText);
  if (maxRatePerS instanceof Error) return new Error(`${maxRatePerS.message}, or 'off'`);
  const key = flags['key-file'] === undefined ? null : readKeyFile('--key-file', flags['key-file']);
  if (key instanceof Error) return key;
  const timer = parseTimerFlags(flags);
  if (timer instanceof Error) return timer;
  if (flags.tracefs !== undefined && !flags['trace-on-breach']) return new Error('--tracefs: only with --trace-on-breach');
  if (flags['trace-on-breach'] && stream === null) {
    return new Error('--trace-on-breach: breaches arrive over the stream: also give --token-file (or --insecure-no-auth)');
  }
  return {
    host: listen.host, port: listen.port, family: listen.family, timestamps, socket, stream,
    intervalMs: intervalNs / 1e6, clockSync: { mode, errorNs }, maxSessions,
    protection: { key, limits: { maxRatePerS, maxSessions, maxSessionsPerSource, replayWindow: key !== null } },
    traceOnBreach: flags['trace-on-breach'] ? { dir: flags.tracefs ?? null } : null,
    timer,
  };
}
