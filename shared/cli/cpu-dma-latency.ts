import { closeSync, openSync, writeSync } from 'node:fs';
import { endianness } from 'node:os';

/** The kernel's PM QoS file: while it is open, no CPU enters an idle state slower to leave than the value written. */
export const CPU_DMA_LATENCY_PATH = '/dev/cpu_dma_latency';

/** The kernel's own limit for a request (PM_QOS_DEFAULT_VALUE), µs. */
export const CPU_DMA_LATENCY_MAX_US = 2_000_000_000;

let held: { us: number; fd: number } | null = null;

/**
 * Asks that no CPU sleep deeper than `us` µs to wake (0: none sleeps at all; a KVM guest's
 * haltpoll idle then polls instead of leaving the vCPU to the host), as cyclictest does, for
 * as long as this process lives: the kernel drops the request when the file is closed, so
 * even a killed process leaves nothing behind. Returns null when held, else the warning to
 * report, or null when not asked for (undefined: no --cpu-dma-latency). Once per process: a
 * second call (another socket of the same run) changes nothing.
 */
export function holdCpuDmaLatency(us: number | undefined, path = CPU_DMA_LATENCY_PATH): string | null {
  if (us === undefined) return null;
  if (held !== null) return held.us === us ? null : `cpu_dma_latency: already held at ${held.us} µs by this process`;
  let fd: number;
  try {
    fd = openSync(path, 'w');
  } catch (error) {
    return `cpu_dma_latency ${us} µs not held: cannot open ${path} (${describe(error)}; needs root, and a kernel with PM QoS)`;
  }
  // A 4-byte binary s32 in the machine's byte order is what the kernel takes.
  const value = Buffer.alloc(4);
  if (endianness() === 'LE') value.writeInt32LE(us);
  else value.writeInt32BE(us);
  try {
    writeSync(fd, value);
  } catch (error) {
    closeSync(fd);
    return `cpu_dma_latency ${us} µs not held: writing ${path} failed (${describe(error)})`;
  }
  held = { us, fd };
  return null;
}

function describe(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  return code ?? (error instanceof Error ? error.message : String(error));
}
