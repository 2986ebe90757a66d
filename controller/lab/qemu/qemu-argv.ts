/**
 * The QEMU command line of the lab guest. Pure: the plan in, argv out, so what QEMU is asked
 * for (accelerator, NIC models, vhost, where the serial console and the monitor go) is tested
 * without QEMU.
 */
import type { GuestNic } from './guest-nics.js';
import { GUEST_TOKEN_PARAM } from './guest-init.js';

export const QEMU_BINARY = 'qemu-system-x86_64';
/** `-name` of the lab guest: how `lab down` recognises a QEMU the state file lost */
export const QEMU_GUEST_NAME = 'rtprobe-lab-guest';

export type Accel = 'kvm' | 'tcg';

export interface QemuPlan {
  accel: Accel;
  cpus: number;
  memory: string;
  kernel: string;
  initrd: string;
  nics: readonly GuestNic[];
  /** virtio-net's data path in the host kernel (/dev/vhost-net usable) */
  vhost: boolean;
  token: string;
  serialLog: string;
  monitorSocket: string;
  pidFile: string;
}

export function qemuArgv(plan: QemuPlan): string[] {
  const append = ['console=ttyS0', 'quiet', 'panic=-1', `${GUEST_TOKEN_PARAM}=${plan.token}`].join(' ');
  return [
    '-name', QEMU_GUEST_NAME,
    '-accel', plan.accel,
    // kvm: the host's CPU as is; tcg: QEMU's default model
    ...(plan.accel === 'kvm' ? ['-cpu', 'host'] : []),
    '-smp', String(plan.cpus),
    '-m', plan.memory,
    '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
    '-kernel', plan.kernel, '-initrd', plan.initrd, '-append', append,
    '-serial', `file:${plan.serialLog}`,
    '-monitor', `unix:${plan.monitorSocket},server=on,wait=off`,
    '-pidfile', plan.pidFile,
    ...plan.nics.flatMap((nic, i) => [
      '-netdev', `tap,id=net${i},ifname=${nic.tap},script=no,downscript=no${nic.canVhost ? `,vhost=${plan.vhost ? 'on' : 'off'}` : ''}`,
      '-device', `${nic.qemuDevice},netdev=net${i},mac=${nic.mac}`,
    ]),
  ];
}

/** `--guest-mem 1G`: MiB or GiB as QEMU reads it, at least 256 MiB (node and the image live in RAM). */
export function parseGuestMemory(text: string): string | Error {
  const match = /^(\d+)([MG]?)$/i.exec(text.trim());
  if (!match) return new Error(`--guest-mem: '${text}' is not a size (e.g. 1024M or 1G)`);
  const mib = Number(match[1]) * ((match[2] ?? '').toUpperCase() === 'G' ? 1024 : 1);
  if (mib < 256) return new Error(`--guest-mem: ${text} is below 256M (the guest holds node and its image in RAM)`);
  if (mib > 65536) return new Error(`--guest-mem: ${text} is above 64G`);
  return `${mib}M`;
}
