import { readFileSync } from 'node:fs';
import { cpus, hostname, release } from 'node:os';

/** The machine a report was made on: what someone asks months later ("which kernel? which clock?"). */
export interface HostFacts {
  name: string;
  /** uname -r */
  kernel: string;
  /** the kernel's clock source (tsc, kvm-clock, hpet, …); null when sysfs does not say */
  clock_source: string | null;
  cpu_model: string | null;
  /** logical CPUs of the machine (not only those this process may use) */
  cpu_count: number;
}

export const CLOCKSOURCE_PATH = '/sys/devices/system/clocksource/clocksource0/current_clocksource';

function readTrimmed(path: string): string | null {
  try {
    const text = readFileSync(path, 'utf8').trim();
    return text === '' ? null : text;
  } catch {
    return null;
  }
}

/** Read once per report; nothing here can fail the run (a missing fact is null). */
export function gatherHostFacts(): HostFacts {
  const list = cpus();
  const model = list[0]?.model.trim() ?? '';
  return {
    name: hostname(),
    kernel: release(),
    clock_source: readTrimmed(CLOCKSOURCE_PATH),
    cpu_model: model === '' ? null : model,
    cpu_count: list.length,
  };
}
