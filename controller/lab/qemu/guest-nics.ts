/**
 * The QEMU guest's NICs: one per device model, each on its own TAP and /30, so a compare of two
 * NICs is one guest, one kernel, one agent, and only the NIC path differs.
 *
 *   host (root namespace)                   QEMU                         guest (one kernel)
 *   rtp-q-e1000   10.254.22.1/30  ── TAP ── e1000 (emulated in QEMU) ──  10.254.22.2  (MAC …:01)
 *   rtp-q-virtio  10.254.22.5/30  ── TAP ── virtio-net-pci (vhost) ────  10.254.22.6  (MAC …:02)
 *   rtp-q-rtl8139 10.254.22.9/30  ── TAP ── rtl8139 (emulated) ────────  10.254.22.10 (MAC …:03)
 *
 * The guest finds each NIC by its MAC address (the kernel's interface order is not the
 * command line's). Everything is inside LAB_RANGE (lab-layout.ts).
 */

export const NIC_MODELS = ['e1000', 'virtio', 'rtl8139'] as const;
export type NicModel = (typeof NIC_MODELS)[number];
export const DEFAULT_NICS: readonly NicModel[] = ['e1000', 'virtio'];

export interface GuestNic {
  model: NicModel;
  /** the target's name in reports: qemu-e1000, qemu-virtio, … */
  name: string;
  /** the TAP in the root namespace */
  tap: string;
  hostAddress: string;
  guestAddress: string;
  prefixLength: 30;
  mac: string;
  /** QEMU's -device name */
  qemuDevice: string;
  /** the guest kernel's driver module */
  driver: string;
  /** virtio-net can move its data path into the host kernel (vhost-net) */
  canVhost: boolean;
}

const MODEL_FACTS: Record<NicModel, { qemuDevice: string; driver: string; canVhost: boolean }> = {
  e1000: { qemuDevice: 'e1000', driver: 'e1000', canVhost: false },
  virtio: { qemuDevice: 'virtio-net-pci', driver: 'virtio_net', canVhost: true },
  rtl8139: { qemuDevice: 'rtl8139', driver: '8139too', canVhost: false },
};

/** the guest's virtio NIC needs the PCI transport too */
export const VIRTIO_PCI_MODULE = 'virtio_pci';

export function guestNic(model: NicModel): GuestNic {
  const index = NIC_MODELS.indexOf(model);
  const base = 4 * index;
  return {
    model, name: `qemu-${model}`, tap: `rtp-q-${model}`,
    hostAddress: `10.254.22.${base + 1}`, guestAddress: `10.254.22.${base + 2}`, prefixLength: 30,
    mac: `52:54:00:72:74:${(index + 1).toString(16).padStart(2, '0')}`,
    ...MODEL_FACTS[model],
  };
}

/** `--nics e1000,virtio`: known models, each once, in the order given. */
export function parseNics(text: string): NicModel[] | Error {
  const models: NicModel[] = [];
  for (const part of text.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    if (!(NIC_MODELS as readonly string[]).includes(part)) {
      return new Error(`--nics: '${part}' is not a NIC model (${NIC_MODELS.join(', ')})`);
    }
    if (models.includes(part as NicModel)) return new Error(`--nics: ${part} is given twice`);
    models.push(part as NicModel);
  }
  if (models.length === 0) return new Error(`--nics: give at least one of ${NIC_MODELS.join(', ')}`);
  return models;
}

/** Kernel modules to load in the guest for these NICs (names; module-deps.ts adds what they need). */
export function driverModules(nics: readonly GuestNic[]): string[] {
  const names = nics.flatMap((nic) => (nic.model === 'virtio' ? [VIRTIO_PCI_MODULE, nic.driver] : [nic.driver]));
  return [...new Set(names)];
}
