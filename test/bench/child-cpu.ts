/**
 * CPU time of finished child processes, read from our own /proc/self/stat (cutime, cstime:
 * every descendant we have waited for). Reading it before a client starts and after it has
 * been reaped gives that client's CPU exactly, provided no other child is reaped meanwhile
 * (the bench runs one client at a time and stops servers only afterwards).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** Fields of /proc/PID/stat after the ")" that ends the command name. */
export function statFields(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** user+system seconds of waited-for children of this process. */
export function childrenCpuS(): number {
  const f = statFields(readFileSync('/proc/self/stat', 'utf8'));
  // after ")": f[0] is field 3 (state); cutime and cstime are fields 16 and 17
  return (Number(f[13]) + Number(f[14])) / clockTicks();
}

/** user+system seconds from a /proc/.../stat file (a process's or a thread's); throws when it is gone. */
function statCpuS(statPath: string): number {
  const f = statFields(readFileSync(statPath, 'utf8'));
  // utime and stime are fields 14 and 15
  return (Number(f[11]) + Number(f[12])) / clockTicks();
}

/** user+system seconds of a live process, or undefined when it is gone. */
export function processCpuS(pid: number): number | undefined {
  try {
    return statCpuS(`/proc/${pid}/stat`);
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds of a live process's threads that `pick` keeps (all by default), from the
 * scheduler's own count in ns (/proc/PID/task/TID/schedstat, its first field): exact over a
 * 10 s window, where utime+stime come in 10 ms ticks. Undefined when the process is gone or
 * no thread is kept; a thread that ends inside a window takes its time with it.
 */
export function threadsCpuS(pid: number, pick: (tid: number, comm: string) => boolean = () => true): number | undefined {
  let total: number | undefined;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        if (!pick(Number(tid), readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim())) continue;
        total = (total ?? 0) + Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]) / 1e9;
      } catch {
        // the thread ended between the listing and the read
      }
    }
  } catch {
    return undefined;
  }
  return total;
}

/**
 * Minor page faults of one live thread so far (/proc/PID/task/TID/stat, field 10), or
 * undefined when it is gone: a fault on this VM costs several µs of the thread's CPU.
 */
export function threadMinorFaults(pid: number, tid: number): number | undefined {
  try {
    return Number(statFields(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8'))[7]);
  } catch {
    return undefined;
  }
}
