/**
 * The lab's emulated NIC (src/device_model.{h,cc}): a native thread that copies Ethernet frames
 * between two existing persistent TAP devices, with the pathologies of an emulated device path
 * as knobs — a global lock held by a competing worker (QEMU's big lock), a per-frame cost, a
 * bounded queue — and a seeded, known distortion schedule for calibration.
 *
 * Directions: A→B is "to the guest" (the lab's host TAP is A), B→A "to the host". Only
 * IPv4/IPv6 UDP and ICMP echo frames are distorted, and only in the `distort` direction(s);
 * ARP, NDP, TCP and the rest pass undistorted (they still wait for the lock, pay the frame cost
 * and take queue space), because delaying neighbour discovery breaks the path instead of
 * calibrating it. Delays are release times in a time-ordered queue woken by a CLOCK_MONOTONIC
 * timerfd: a delayed frame never holds back the frames behind it.
 */
import type { NativeAddon } from '../../shared/native/native-addon.js';

/** The seeded delay applied to each distorted frame. */
export type DelaySpec =
  | { kind: 'constant'; ns: number }
  | { kind: 'uniform'; minNs: number; maxNs: number }
  /** `ns` added to every `every`th distorted frame (1-based: frames every, 2·every, …) */
  | { kind: 'spike'; ns: number; every: number };

/** Which direction(s) get the distortions (delay, drop, duplicate, reorder). */
export type DistortDirection = 'a-to-b' | 'b-to-a' | 'both' | 'none';

export interface DeviceModelKnobs {
  /** the worker holds the global lock for stallNs every stallEveryNs (both or neither) */
  stallNs?: number;
  stallEveryNs?: number;
  /** busy wait per frame, under the lock */
  frameCostNs?: number;
  /** frames waiting for release per direction (default 4096); a frame beyond it is dropped */
  queueFrames?: number;
  delay?: DelaySpec;
  /** the Nth, 2Nth, … distorted frame of a direction is dropped (wins over every other knob) */
  dropEvery?: number;
  /** … is sent twice (same release time) */
  duplicateEvery?: number;
  /** … is held and sent right after the next distorted frame of its direction: one swap */
  reorderEvery?: number;
  /** a held frame with no successor within this is sent alone, counted as a timeout (1 s) */
  reorderHoldNs?: number;
  /** PRNG seed of the uniform delay (default 1) */
  seed?: number;
  /** default 'a-to-b' */
  distort?: DistortDirection;
}

export interface DeviceModelOptions extends DeviceModelKnobs {
  /** host-side TAP (frames from it go A→B) */
  tapA: string;
  /** guest-side TAP */
  tapB: string;
  /** attach to tapA / tapB inside this named network namespace (/run/netns/NAME) */
  netnsA?: string;
  netnsB?: string;
}

/** Counters of one direction. */
export interface DeviceModelDirectionStats {
  /** read from the source TAP */
  frames: number;
  /** written to the destination TAP, duplicates included */
  forwarded: number;
  /** frames not eligible for distortion (not UDP / ICMP echo, or direction not distorted) */
  undistorted: number;
  /** dropped because the direction's queue was full */
  droppedQueue: number;
  /** dropped by dropEvery */
  droppedInjected: number;
  duplicated: number;
  /** swaps of neighbours done by reorderEvery */
  reordered: number;
  /** held frames sent alone (no next frame within reorderHoldNs): no swap happened */
  reorderTimeouts: number;
  /** frames given a delay > 0 */
  delayed: number;
  /** frames given the spike delay */
  spikes: number;
  writeErrors: number;
  /** most frames ever waiting in this direction's queue */
  queueHighWater: number;
}

export interface DeviceModelStats {
  aToB: DeviceModelDirectionStats;
  bToA: DeviceModelDirectionStats;
  /** times the worker took the global lock */
  stalls: number;
  /** total time it held it */
  stallHeldNs: number;
  /** the copy thread's longest wait for the lock */
  maxLockWaitNs: number;
  readErrors: number;
  /** false once the copy thread ended: stopped, or a TAP was deleted under it */
  running: boolean;
  lastError: string | null;
}

export interface DeviceModel {
  stats(): DeviceModelStats;
  /** joins the threads and closes the TAP fds; queued frames are discarded. Safe to call twice. */
  stop(): void;
}

interface NativeDeviceModel {
  stats(): DeviceModelStats;
  stop(): void;
}

type DeviceModelClass = new (options: Record<string, unknown>) => NativeDeviceModel;

/** The flat option object the native constructor reads. */
export function toNativeOptions(options: DeviceModelOptions): Record<string, unknown> {
  const { delay, ...rest } = options;
  const flat: Record<string, unknown> = { ...rest };
  if (delay?.kind === 'constant') Object.assign(flat, { delayKind: 'constant', delayNs: delay.ns });
  if (delay?.kind === 'uniform') Object.assign(flat, { delayKind: 'uniform', delayNs: delay.minNs, delayMaxNs: delay.maxNs });
  if (delay?.kind === 'spike') Object.assign(flat, { delayKind: 'spike', delayNs: delay.ns, spikeEvery: delay.every });
  for (const key of Object.keys(flat)) if (flat[key] === undefined) delete flat[key];
  return flat;
}

/**
 * Attaches to both TAPs and starts the device model (root or CAP_NET_ADMIN). Throws an Error
 * naming the TAP and errno when it cannot attach, or when the addon predates the device model.
 */
export function startDeviceModel(addon: NativeAddon, options: DeviceModelOptions): DeviceModel {
  const ctor = (addon as unknown as { DeviceModel?: unknown }).DeviceModel;
  if (typeof ctor !== 'function') {
    throw new Error('the native addon has no DeviceModel (stale build): run `node shared/native/build-addon.js`');
  }
  const native = new (ctor as DeviceModelClass)(toNativeOptions(options));
  return { stats: () => native.stats(), stop: () => native.stop() };
}
