import type { HostFacts } from '../report/host-facts.js';
import type { RtSetting, RtSettings } from '../report/rt-settings.js';

/** What an agent says about its own set-up in its hello: the guest's side of a report's provenance. */
export interface AgentSettings {
  host: HostFacts;
  /** the reflector's socket and RT options as applied */
  rt: RtSettings;
  /** --max-rate (null = off) and --max-sessions as enforced; whether probes must be signed */
  max_rate_per_s: number | null;
  max_sessions: number;
  /** --max-sessions-per-source as enforced; absent from agents older than the flag */
  max_sessions_per_source?: number;
  key_file: boolean;
}

const RT_OPTIONS = ['rt_priority', 'cpu', 'mlock', 'spin_us', 'dscp', 'priority', 'busy_poll_us', 'interface', 'cpu_dma_latency_us'] as const;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const text = (v: unknown, max: number): string | undefined => (typeof v === 'string' ? v.slice(0, max) : undefined);
const count = (v: unknown): number | undefined => (Number.isSafeInteger(v) && (v as number) >= 0 ? (v as number) : undefined);

/** HostFacts from untrusted JSON (a hello, a log directory's provenance file); undefined when malformed. */
export function parseHost(v: unknown): HostFacts | undefined {
  if (!isRecord(v)) return undefined;
  const name = text(v.name, 255);
  const kernel = text(v.kernel, 255);
  const cpuCount = count(v.cpu_count);
  if (name === undefined || kernel === undefined || cpuCount === undefined) return undefined;
  return {
    name, kernel, cpu_count: cpuCount,
    clock_source: text(v.clock_source, 64) ?? null, cpu_model: text(v.cpu_model, 255) ?? null,
  };
}

function parseSetting(v: unknown): RtSetting | undefined {
  if (!isRecord(v) || typeof v.applied !== 'boolean') return undefined;
  const requested = typeof v.requested === 'number' || typeof v.requested === 'boolean' ? v.requested : text(v.requested, 64);
  if (requested === undefined) return undefined;
  return { requested, applied: v.applied, reason: text(v.reason, 500) ?? null };
}

/** RtSettings from untrusted JSON, known fields only; undefined when malformed. */
export function parseRt(v: unknown): RtSettings | undefined {
  if (!isRecord(v) || (v.sender !== 'native' && v.sender !== 'user')) return undefined;
  const rt: RtSettings = {
    sender: v.sender, require_rt: v.require_rt === true,
    other_warnings: Array.isArray(v.other_warnings) ? v.other_warnings.slice(0, 10).flatMap((w) => text(w, 500) ?? []) : [],
  };
  for (const option of RT_OPTIONS) {
    const setting = parseSetting(v[option]);
    if (setting) rt[option] = setting;
  }
  return rt;
}

/**
 * Rebuilds the settings of a hello from their known fields only (they go into the
 * controller's JSON report); anything malformed drops the settings, never the hello.
 */
export function parseAgentSettings(v: unknown): AgentSettings | undefined {
  if (!isRecord(v)) return undefined;
  const host = parseHost(v.host);
  const rt = parseRt(v.rt);
  const maxSessions = count(v.max_sessions);
  const maxRate = v.max_rate_per_s === null ? null : typeof v.max_rate_per_s === 'number' && v.max_rate_per_s > 0 ? v.max_rate_per_s : undefined;
  if (!host || !rt || maxSessions === undefined || maxRate === undefined) return undefined;
  const perSource = count(v.max_sessions_per_source);
  return {
    host, rt, max_rate_per_s: maxRate, max_sessions: maxSessions,
    ...(perSource === undefined ? {} : { max_sessions_per_source: perSource }),
    key_file: v.key_file === true,
  };
}
