import { LAB_STATE_DIR } from './lab-layout.js';
import { readLabState } from './lab-state.js';
import { describeKnobs } from './device-model-knobs.js';
import { readQemuLabState } from './qemu/qemu-lab-state.js';
import type { LabProvenance } from '../report/provenance.js';

/**
 * The lab a run probed, when one of its target addresses is a lab guest's: the netns lab with
 * its device-model knobs, or the QEMU lab with its NIC models. null when no lab guest was probed.
 */
export function labProvenance(addresses: readonly string[], stateDir = LAB_STATE_DIR): LabProvenance | null {
  const netns = readLabState(stateDir);
  if (netns && !(netns instanceof Error) && netns.targets.some((t) => addresses.includes(t.address))) {
    const description = describeKnobs(netns.knobs);
    return { kind: 'netns', created: netns.created, knobs: { ...netns.knobs }, description };
  }
  const qemu = readQemuLabState(stateDir);
  if (qemu && !(qemu instanceof Error) && qemu.targets.some((t) => addresses.includes(t.address))) {
    const nics = qemu.targets.map((t) => `${t.name} ${t.model}${t.vhost === null ? '' : t.vhost ? ' (vhost-net)' : ' (no vhost)'}`);
    return { kind: 'qemu', created: qemu.created, description: [`accel ${qemu.accel}`, `${qemu.cpus} vCPUs`, `memory ${qemu.memory}`, ...nics] };
  }
  return null;
}
