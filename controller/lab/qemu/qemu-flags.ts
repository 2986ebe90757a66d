/** The flags of `rtprobe lab up --qemu`, parsed into the options of qemuLabUp. Pure. */
import { parseDurationNs, parseIntegerIn } from '../../../shared/cli/parse-values.js';
import { DEFAULT_NICS, parseNics } from './guest-nics.js';
import { parseGuestMemory } from './qemu-argv.js';
import type { QemuLabOptions } from './qemu-lab.js';

export interface QemuFlags {
  qemu?: boolean;
  nics?: string;
  accel?: string;
  'guest-cpus'?: string;
  'guest-mem'?: string;
  'boot-timeout'?: string;
}

export const QEMU_FLAG_SPEC = {
  qemu: { type: 'boolean' },
  nics: { type: 'string' },
  accel: { type: 'string' },
  'guest-cpus': { type: 'string' },
  'guest-mem': { type: 'string' },
  'boot-timeout': { type: 'string' },
} as const;

export const QEMU_FLAGS_HELP = `QEMU guest (lab up --qemu): one guest of QEMU, one NIC per model, each on its own TAP
  --nics LIST          NIC models, from e1000, virtio, rtl8139 (default e1000,virtio)
  --accel MODE         auto, kvm or tcg (default auto: KVM where /dev/kvm opens, but TCG
                       when KVM does not start the guest's /init within 30 s, e.g. a
                       nested KVM that aborts on -cpu host; the output says why)
  --guest-cpus N       virtual CPUs (default 1)
  --guest-mem SIZE     guest memory, e.g. 1024M or 1G (default 1G)
  --boot-timeout TIME  until the guest agent is ready (default 120s; TCG boots in ~15 s here)
`;

export type ParsedQemuFlags = Omit<QemuLabOptions, 'log' | 'kernel'>;

export function parseQemuFlags(flags: QemuFlags): ParsedQemuFlags | Error {
  const nics = flags.nics === undefined ? [...DEFAULT_NICS] : parseNics(flags.nics);
  if (nics instanceof Error) return nics;
  const accel = flags.accel ?? 'auto';
  if (accel !== 'auto' && accel !== 'kvm' && accel !== 'tcg') return new Error(`--accel: '${accel}' is not auto, kvm or tcg`);
  const cpus = flags['guest-cpus'] === undefined ? 1 : parseIntegerIn('--guest-cpus', flags['guest-cpus'], 1, 64);
  if (cpus instanceof Error) return cpus;
  const memory = parseGuestMemory(flags['guest-mem'] ?? '1G');
  if (memory instanceof Error) return memory;
  const timeoutNs = parseDurationNs('--boot-timeout', flags['boot-timeout'] ?? '120s');
  if (timeoutNs instanceof Error) return timeoutNs;
  if (timeoutNs < 1e9) return new Error('--boot-timeout: at least 1s');
  return { nics, accel, cpus, memory, bootTimeoutMs: timeoutNs / 1e6 };
}

/** Flags that only mean something with --qemu, given without it. */
export function qemuOnlyFlagsGiven(flags: QemuFlags): string[] {
  return (['nics', 'accel', 'guest-cpus', 'guest-mem', 'boot-timeout'] as const).filter((f) => flags[f] !== undefined).map((f) => `--${f}`);
}
