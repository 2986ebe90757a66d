/**
 * Polls a live process for RSS and CPU, keeping the last values seen before it exits: the
 * fallback when the rtprobe report has no `process` block. The spawned pid is the `timeout`
 * wrapper, so the sampler follows its only child down to the real program.
 */
import { readFileSync } from 'node:fs';
import { processCpuS } from './child-cpu.js';

export interface ProcSample {
  rssBytes: number;
  /** VmHWM: the most RSS the process ever had, so far */
  peakRssBytes?: number;
  cpuS: number;
}

/** The program under the bench's wrappers (coreutils timeout, ip netns exec): the only child, down. */
export function leafPid(pid: number): number {
  let cur = pid;
  for (let depth = 0; depth < 4; depth++) {
    let kids: string[];
    try {
      kids = readFileSync(`/proc/${cur}/task/${cur}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    } catch {
      return cur;
    }
    const next = kids.length === 1 ? Number(kids[0]) : NaN;
    if (!Number.isInteger(next)) return cur;
    cur = next;
  }
  return cur;
}

/** A memory line of /proc/PID/status in bytes (VmRSS now, VmHWM the high-water mark), undefined when gone. */
export function statusBytes(pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

export class ProcSampler {
  private last: ProcSample | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pid: number, intervalMs = 50) {
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  private sample(): void {
    const leaf = leafPid(this.pid);
    const rss = statusBytes(leaf, 'VmRSS');
    const peak = statusBytes(leaf, 'VmHWM');
    const cpu = processCpuS(leaf);
    if (rss !== undefined && cpu !== undefined) this.last = peak === undefined ? { rssBytes: rss, cpuS: cpu } : { rssBytes: rss, peakRssBytes: peak, cpuS: cpu };
  }

  /** Stops polling; the last sample taken while the process was alive. */
  stop(): ProcSample | undefined {
    clearInterval(this.timer);
    return this.last;
  }
}
