/**
 * The lab's fixed names and addresses. Every interface and namespace `lab up` makes is named
 * here, so `lab down` removes exactly these (and nothing else that starts with rtp-, such as
 * a test's own namespaces) even when the state file is gone.
 *
 *   host (root namespace)                                    guest namespaces
 *   rtp-pt-h  10.254.20.1/30 ══ veth ══════════════════════  rtp-pt-g  10.254.20.2/30  (rtp-pt)
 *   rtp-emu-h 10.254.21.1/30 ── TAP ─ device model ─ TAP ──  rtp-emu-g 10.254.21.2/30  (rtp-emu)
 */

export interface GuestLayout {
  /** the guest's role: pt = passthrough stand-in (kernel-only path), emu = emulated NIC */
  role: 'pt' | 'emu';
  netns: string;
  /** interface left in the root namespace, with the host address */
  hostIf: string;
  /** interface inside the guest namespace, with the guest address */
  guestIf: string;
  hostAddress: string;
  guestAddress: string;
  prefixLength: number;
  /** the agent's UDP port and stream port, on guestAddress */
  udpPort: number;
  wsPort: number;
}

export const LAB_PT: GuestLayout = {
  role: 'pt', netns: 'rtp-pt', hostIf: 'rtp-pt-h', guestIf: 'rtp-pt-g',
  hostAddress: '10.254.20.1', guestAddress: '10.254.20.2', prefixLength: 30, udpPort: 7707, wsPort: 7708,
};

export const LAB_EMU: GuestLayout = {
  role: 'emu', netns: 'rtp-emu', hostIf: 'rtp-emu-h', guestIf: 'rtp-emu-g',
  hostAddress: '10.254.21.1', guestAddress: '10.254.21.2', prefixLength: 30, udpPort: 7707, wsPort: 7708,
};

export const LAB_GUESTS: readonly GuestLayout[] = [LAB_PT, LAB_EMU];

/** Every namespace and interface name the lab may leave behind. */
export const LAB_NAMESPACES: readonly string[] = LAB_GUESTS.map((g) => g.netns);
export const LAB_INTERFACES: readonly string[] = LAB_GUESTS.flatMap((g) => [g.hostIf, g.guestIf]);
/** The QEMU guest's TAPs (qemu/guest-nics.ts names them rtp-q-MODEL). */
export const LAB_QEMU_TAPS: readonly string[] = ['rtp-q-e1000', 'rtp-q-virtio', 'rtp-q-rtl8139'];
/** every interface `lab down` removes */
export const LAB_ALL_INTERFACES: readonly string[] = [...LAB_INTERFACES, ...LAB_QEMU_TAPS];

/**
 * Every lab address is inside this range (namespaces 10.254.20-21, the QEMU guest 10.254.22).
 * While a lab is up the root namespace holds an `unreachable` route for it: a lab link that
 * goes down takes its connected route along, and probes to its addresses must then fail on
 * this machine, never follow the default route out of it.
 */
export const LAB_RANGE = '10.254.20.0/22';

/** Where `lab up --qemu` keeps the guest image between labs (`lab down` removes LAB_STATE_DIR whole). */
export const LAB_IMAGE_CACHE_DIR = '/var/cache/rtprobe-lab';

/** Where `lab up` keeps its state (PIDs, token, logs, the device model's counters). */
export const LAB_STATE_DIR = '/run/rtprobe-lab';

/** The argv marker that identifies the lab's device-model process in /proc after a crash. */
export const DEVICE_MODEL_MARKER = ['lab', 'device-model', '--tap-a', LAB_EMU.hostIf] as const;
