/**
 * `rtprobe lab down`: ends the lab's processes and removes its namespaces and interfaces.
 * Idempotent, and independent of the state file: it also finds what a crashed `up` left
 * (processes inside the lab namespaces, the device model by its argv, the lab's names).
 */
import { LAB_NAMESPACES } from './lab-layout.js';
import { planDown } from './lab-plan.js';
import { readLabState, removeLabStateDir } from './lab-state.js';
import {
  findDeviceModelPids, findLabNetwork, isEmptyNetwork, namespacePids, networkNames, processArgv, runIp, terminate,
} from './lab-system.js';

export interface DownReport {
  /** PIDs signalled */
  ended: number[];
  /** namespaces and interfaces removed */
  removed: string[];
  /** what could not be removed (non-empty = failure) */
  left: string[];
  /** the state file was unreadable (it is removed anyway) */
  stateProblem: string | null;
}

/** PIDs recorded in the state whose /proc argv is still the one recorded (no reused PID). */
function statePids(dir: string): { pids: number[]; problem: string | null } {
  const state = readLabState(dir);
  if (state === null) return { pids: [], problem: null };
  if (state instanceof Error) return { pids: [], problem: state.message };
  const pids = state.processes
    .filter((p) => {
      const argv = processArgv(p.pid);
      return argv !== null && argv.join('\0') === p.argv.join('\0');
    })
    .map((p) => p.pid);
  return { pids, problem: null };
}

export async function labDown(dir: string): Promise<DownReport> {
  const { pids, problem } = statePids(dir);
  const inNamespaces = LAB_NAMESPACES.flatMap(namespacePids);
  const all = [...new Set([...pids, ...inNamespaces, ...findDeviceModelPids()])].filter((pid) => pid !== process.pid);
  const ended = await terminate(all);

  const found = findLabNetwork();
  for (const step of planDown(found)) {
    runIp(step); // a veth end deleted with its peer is already gone: the check below decides
  }
  const left = findLabNetwork();
  removeLabStateDir(dir);
  return {
    ended,
    removed: networkNames(found).filter((name) => !networkNames(left).includes(name)),
    left: isEmptyNetwork(left) ? [] : networkNames(left),
    stateProblem: problem,
  };
}
