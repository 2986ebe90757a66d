import type { StampSource } from '../transport/probe-transport.js';

/** The clock behind each stamp source, spelled out for reports. */
export const CLOCK_OF_SOURCE: Record<StampSource | 'none', string> = {
  user: 'user space, CLOCK_MONOTONIC',
  kernel: 'kernel SO_TIMESTAMPING software stamp, CLOCK_REALTIME differences',
  hardware: 'NIC hardware stamp (PHC) differences',
  none: 'not stamped',
};
