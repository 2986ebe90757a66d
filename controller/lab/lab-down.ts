/**
 * `rtprobe lab down`: ends the lab's processes and removes its namespaces and interfaces.
 * Idempotent, and independent of the state file: it also finds what a crashed `up` left
 * (processes inside the lab namespaces, the device model by its argv, the lab's names).
 */
import { LAB_NAMESPACES, LAB_RANGE } from './lab-layout.js';
import { planDown } from './lab-plan.js';
import { readLabState, removeLabStateDir } from './lab-state.js';
import {
  findDeviceModelPids, findLabNetwork, hasSafetyRoute, isEmptyNetwork, namespacePids, networkNames, processArgv, removeSafetyRoute,
  runIp, terminate,
} from './lab-system.js';
import { quitQemuGuest } from './qemu/qemu-lab.js';

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
  // The QEMU guest first: through its monitor, before its TAPs go.
  const qemu = await quitQemuGuest(dir);
  const { pids, problem } = statePids(dir);
  const inNamespaces = LAB_NAMESPACES.flatMap(namespacePids);
  const all = [...new Set([...pids, ...inNamespaces, ...findDeviceModelPids()])].filter((pid) => pid !== process.pid);
  const ended = [...qemu.ended, ...await terminate(all)];

  const found = findLabNetwork();
  for (const step of planDown(found)) {
    runIp(step); // a veth end deleted with its peer is already gone: the check below decides
  }
  const left = findLabNetwork();
  // The safety route goes last, once no lab address is left to protect.
  const hadRoute = hasSafetyRoute(LAB_RANGE);
  if (isEmptyNetwork(left)) removeSafetyRoute(LAB_RANGE);
  const routeLeft = hasSafetyRoute(LAB_RANGE);
  removeLabStateDir(dir);
  const removedRoute = hadRoute && !routeLeft ? [`route unreachable ${LAB_RANGE}`] : [];
  return {
    ended,
    removed: [...networkNames(found).filter((name) => !networkNames(left).includes(name)), ...removedRoute],
    left: isEmptyNetwork(left) ? [] : networkNames(left),
    stateProblem: problem ?? qemu.problem,
  };
}
