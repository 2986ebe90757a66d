/**
 * /run/rtprobe-lab/state.json: what `lab up` started and where, so `status` and `down` can
 * find it. Parsing is strict and never throws (a damaged file is an Error value; `down` then
 * falls back to looking for the lab's names).
 */
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../shared/cli/write-file-atomic.js';
import type { KnobFlags } from './device-model-knobs.js';

export type LabProcessRole = 'agent-pt' | 'agent-emu' | 'device-model';

export interface LabProcess {
  role: LabProcessRole;
  pid: number;
  /** the command line it was started with: checked against /proc before it is signalled */
  argv: string[];
  log: string;
}

export interface LabTarget {
  role: 'pt' | 'emu';
  netns: string;
  address: string;
  udp_port: number;
  ws_url: string;
}

export interface LabState {
  version: 1;
  created: string;
  token_file: string;
  stats_file: string;
  targets: LabTarget[];
  processes: LabProcess[];
  knobs: KnobFlags;
}

export const STATE_FILE = 'state.json';

export function formatLabState(state: LabState): string {
  return `${JSON.stringify(state, null, 2)}\n`;
}

/** Type guards of the state files' parsers (this one and qemu/qemu-lab-state.ts). */
export const isString = (v: unknown): v is string => typeof v === 'string';
export const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function isProcess(v: unknown): v is LabProcess {
  return isRecord(v) && ['agent-pt', 'agent-emu', 'device-model'].includes(v.role as string) &&
    Number.isInteger(v.pid) && (v.pid as number) > 1 && Array.isArray(v.argv) && v.argv.every(isString) && isString(v.log);
}

function isTarget(v: unknown): v is LabTarget {
  return isRecord(v) && (v.role === 'pt' || v.role === 'emu') && isString(v.netns) && isString(v.address) &&
    Number.isInteger(v.udp_port) && isString(v.ws_url);
}

export function parseLabState(text: string): LabState | Error {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return new Error(`state file is not JSON (${(error as Error).message})`);
  }
  if (!isRecord(value) || value.version !== 1) return new Error('state file: not version 1');
  if (!isString(value.created) || !isString(value.token_file) || !isString(value.stats_file)) {
    return new Error('state file: created, token_file or stats_file missing');
  }
  if (!Array.isArray(value.targets) || !value.targets.every(isTarget)) return new Error('state file: bad targets');
  if (!Array.isArray(value.processes) || !value.processes.every(isProcess)) return new Error('state file: bad processes');
  if (!isRecord(value.knobs) || !Object.values(value.knobs).every(isString)) return new Error('state file: bad knobs');
  return value as unknown as LabState;
}

/**
 * A state file of the lab's through its parser: null when there is none (that lab is down, or
 * was never up), an Error when it cannot be read or parsed.
 */
export function readStateFile<T>(dir: string, file: string, parse: (text: string) => T | Error): T | Error | null {
  let text: string;
  try {
    text = readFileSync(join(dir, file), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    return new Error(`cannot read ${join(dir, file)}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  return parse(text);
}

export function readLabState(dir: string): LabState | Error | null {
  return readStateFile(dir, STATE_FILE, parseLabState);
}

export function writeLabState(dir: string, state: LabState): void {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  writeFileAtomic(join(dir, STATE_FILE), formatLabState(state));
}

/** Removes the state directory (token, logs, counters) whole. */
export function removeLabStateDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
