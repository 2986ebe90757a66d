/**
 * /run/rtprobe-lab/qemu.json: the QEMU guest `lab up --qemu` started, where its logs and
 * monitor are, how it booted, and the targets to compare. Parsing is strict and never throws.
 */
import { join } from 'node:path';
import { writeFileAtomic } from '../../../shared/cli/write-file-atomic.js';
import { isRecord, isString, readStateFile } from '../lab-state.js';
import type { NicModel } from './guest-nics.js';
import type { Accel } from './qemu-argv.js';

export const QEMU_STATE_FILE = 'qemu.json';

export interface QemuTarget {
  /** qemu-e1000, qemu-virtio, … */
  name: string;
  model: NicModel;
  address: string;
  udp_port: number;
  ws_url: string;
  tap: string;
  host_address: string;
  /** virtio only: whether its data path runs in the host kernel (vhost-net); null for other models */
  vhost: boolean | null;
}

export interface QemuLabState {
  version: 1;
  created: string;
  accel: Accel;
  cpus: number;
  memory: string;
  kernel: string;
  initrd: string;
  /** the image came from the cache, unchanged */
  image_cached: boolean;
  token_file: string;
  serial_log: string;
  qemu_log: string;
  monitor_socket: string;
  qemu: { pid: number; argv: string[] } | null;
  /** seconds from QEMU's start to the guest's /init, and to the agent's ready lines */
  boot_s: number | null;
  agent_ready_s: number | null;
  targets: QemuTarget[];
}

const isSeconds = (v: unknown): boolean => v === null || (typeof v === 'number' && Number.isFinite(v) && v >= 0);

function isTarget(v: unknown): v is QemuTarget {
  return isRecord(v) && isString(v.name) && isString(v.model) && isString(v.address) && Number.isInteger(v.udp_port) &&
    isString(v.ws_url) && isString(v.tap) && isString(v.host_address) && (v.vhost === null || typeof v.vhost === 'boolean');
}

export function parseQemuLabState(text: string): QemuLabState | Error {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (error) {
    return new Error(`${QEMU_STATE_FILE} is not JSON (${(error as Error).message})`);
  }
  if (!isRecord(v) || v.version !== 1) return new Error(`${QEMU_STATE_FILE}: not version 1`);
  const strings = ['created', 'memory', 'kernel', 'initrd', 'token_file', 'serial_log', 'qemu_log', 'monitor_socket'];
  const missing = strings.filter((key) => !isString(v[key]));
  if (missing.length > 0) return new Error(`${QEMU_STATE_FILE}: ${missing.join(', ')} missing`);
  if (v.accel !== 'kvm' && v.accel !== 'tcg') return new Error(`${QEMU_STATE_FILE}: bad accel`);
  if (!Number.isInteger(v.cpus) || typeof v.image_cached !== 'boolean' || !isSeconds(v.boot_s) || !isSeconds(v.agent_ready_s)) {
    return new Error(`${QEMU_STATE_FILE}: bad cpus, image_cached, boot_s or agent_ready_s`);
  }
  const q = v.qemu;
  if (q !== null && !(isRecord(q) && Number.isInteger(q.pid) && (q.pid as number) > 1 && Array.isArray(q.argv) && q.argv.every(isString))) {
    return new Error(`${QEMU_STATE_FILE}: bad qemu process`);
  }
  if (!Array.isArray(v.targets) || !v.targets.every(isTarget)) return new Error(`${QEMU_STATE_FILE}: bad targets`);
  return v as unknown as QemuLabState;
}

/** null: no QEMU lab; Error: a damaged file. */
export function readQemuLabState(dir: string): QemuLabState | Error | null {
  return readStateFile(dir, QEMU_STATE_FILE, parseQemuLabState);
}

export function writeQemuLabState(dir: string, state: QemuLabState): void {
  writeFileAtomic(join(dir, QEMU_STATE_FILE), `${JSON.stringify(state, null, 2)}\n`);
}
