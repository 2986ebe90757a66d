import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../shared/cli/write-file-atomic.js';
import { parseAgentSettings, parseHost, parseRt } from '../../shared/messages/agent-settings.js';
import type { StampSource } from '../../shared/transport/probe-transport.js';
import type { LabProvenance, Provenance } from './provenance.js';

/**
 * soak --hlog DIR keeps the provenance of each soak that wrote into DIR beside the logs, so
 * `rtprobe report DIR` can say months later which rtprobe, kernel and RT settings made them.
 * The .hlog format has no place for it (and HdrHistogram's Java tools must keep reading them).
 */
export const PROVENANCE_FILE = 'rtprobe-provenance.json';

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isString = (v: unknown): v is string => typeof v === 'string';
const STAMPS = ['user', 'kernel', 'hardware'];
const SYNC_MODES = ['none', 'ptp', 'ntp'];

function parseAgents(v: unknown): Provenance['agents'] {
  if (!Array.isArray(v)) return [];
  return v.slice(0, 10_000).flatMap((a): Provenance['agents'] => {
    if (!isRecord(a) || !isString(a.target)) return [];
    const clocks = a.clocks;
    const sync = a.clock_sync;
    const mode = isRecord(sync) && SYNC_MODES.includes(String(sync.mode)) ? (sync.mode as 'none' | 'ptp' | 'ntp') : null;
    if (!isString(a.agent_version) || !Number.isSafeInteger(a.interval_ms) || !isRecord(clocks) || !isRecord(sync) || mode === null
      || !STAMPS.includes(String(clocks.t2)) || !STAMPS.includes(String(clocks.t3))) {
      return [{ target: a.target, hello: null }];
    }
    const settings = parseAgentSettings(a.settings);
    return [{
      target: a.target, agent_version: a.agent_version.slice(0, 64), instance: String(a.instance).slice(0, 64), interval_ms: a.interval_ms as number,
      replay_ms: Number.isSafeInteger(a.replay_ms) ? (a.replay_ms as number) : 0,
      clocks: { t2: clocks.t2 as StampSource, t3: clocks.t3 as StampSource, turnaround: String(clocks.turnaround).slice(0, 200) },
      clock_sync: { mode, error_ns: Number.isSafeInteger(sync.error_ns) ? (sync.error_ns as number) : null },
      ...(settings ? { settings } : {}),
    }];
  });
}

/** One provenance from untrusted JSON; null when it lacks what a header needs. */
export function parseProvenance(v: unknown): Provenance | null {
  if (!isRecord(v) || !isString(v.rtprobe_version) || !Array.isArray(v.command_line) || !v.command_line.every(isString)) return null;
  const host = parseHost(v.host);
  const rt = parseRt(v.rt);
  if (!host || !rt) return null;
  const lab = isRecord(v.lab) && (v.lab.kind === 'netns' || v.lab.kind === 'qemu') && isString(v.lab.created)
    && Array.isArray(v.lab.description) && v.lab.description.every(isString)
    ? { kind: v.lab.kind as LabProvenance['kind'], created: v.lab.created, description: v.lab.description as string[] } : null;
  return {
    rtprobe_version: v.rtprobe_version, command_line: v.command_line as string[], node_version: isString(v.node_version) ? v.node_version : 'unknown',
    host, rt, load: Array.isArray(v.load) ? v.load : null, lab, agents: parseAgents(v.agents),
  };
}

/** The soaks recorded in DIR, oldest first; [] when there is no file or it does not read. */
export function readProvenanceFile(dir: string): Provenance[] {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(join(dir, PROVENANCE_FILE), 'utf8'));
  } catch {
    return [];
  }
  return Array.isArray(value) ? value.flatMap((p) => parseProvenance(p) ?? []) : [];
}

/**
 * Adds this soak's provenance to DIR's file (a resumed soak is another entry), or replaces
 * its own entry (`replace`: the final one, with the agents' hellos). Returns an error message.
 */
export function recordProvenance(dir: string, provenance: Provenance, replace: boolean): string | null {
  const earlier = readProvenanceFile(dir);
  const list = replace && earlier.length > 0 ? [...earlier.slice(0, -1), provenance] : [...earlier, provenance];
  try {
    writeFileAtomic(join(dir, PROVENANCE_FILE), `${JSON.stringify(list, null, 2)}\n`);
    return null;
  } catch (error) {
    return `--hlog: cannot write ${join(dir, PROVENANCE_FILE)}: ${(error as Error).message}`;
  }
}
