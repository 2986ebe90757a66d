/**
 * `rtprobe lab status`: what exists (state, processes, namespaces, interfaces), the device
 * model's counters from its stats file, and the targets to hand to `rtprobe compare`.
 * gatherLabStatus reads the system; formatLabStatus is pure.
 */
import { readFileSync } from 'node:fs';
import type { DeviceModelDirectionStats } from './native-device-model.js';
import type { DeviceModelStatsFile } from './device-model-command.js';
import { describeKnobs } from './device-model-knobs.js';
import { LAB_EMU, LAB_GUESTS, LAB_PT, LAB_RANGE } from './lab-layout.js';
import type { FoundNetwork } from './lab-plan.js';
import { readLabState, type LabProcessRole, type LabState } from './lab-state.js';
import { findLabNetwork, hasSafetyRoute, isEmptyNetwork, processArgv } from './lab-system.js';
import { formatQemuStatus, gatherQemuStatus, type QemuStatusView } from './qemu/qemu-lab-status.js';

/** A stats file older than this means the device model is hung or gone. */
const STALE_STATS_S = 5;

export interface LabStatusView {
  /** a state file exists */
  up: boolean;
  /** up, every process alive, every namespace and interface present, counters fresh */
  healthy: boolean;
  problems: string[];
  state: LabState | null;
  processes: Array<{ role: LabProcessRole; pid: number; alive: boolean }>;
  network: FoundNetwork;
  device_model: DeviceModelStatsFile | null;
  device_model_age_s: number | null;
  /** the QEMU guest of `lab up --qemu`, when up */
  qemu: QemuStatusView | null;
}

function readStatsFile(path: string): DeviceModelStatsFile | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as DeviceModelStatsFile;
  } catch {
    return null;
  }
}

export function gatherLabStatus(dir: string, nowMs = Date.now()): LabStatusView {
  const read = readLabState(dir);
  const state = read instanceof Error ? null : read;
  const network = findLabNetwork();
  const problems: string[] = [];
  if (read instanceof Error) problems.push(read.message);
  const qemuRead = gatherQemuStatus(dir, network);
  const qemu = qemuRead instanceof Error ? null : qemuRead;
  if (qemuRead instanceof Error) problems.push(qemuRead.message);
  const processes = (state?.processes ?? []).map((p) => {
    const argv = processArgv(p.pid);
    return { role: p.role, pid: p.pid, alive: argv !== null && argv.join('\0') === p.argv.join('\0') };
  });
  const deviceModel = state ? readStatsFile(state.stats_file) : null;
  const age = deviceModel ? (nowMs - Date.parse(deviceModel.updated)) / 1000 : null;
  if (state) {
    for (const p of processes) if (!p.alive) problems.push(`${p.role} (pid ${p.pid}) is not running`);
    for (const g of LAB_GUESTS) {
      if (!network.namespaces.includes(g.netns)) problems.push(`namespace ${g.netns} is missing`);
      if (!network.rootLinks.includes(g.hostIf)) problems.push(`interface ${g.hostIf} is missing`);
      if (!network.nsLinks.some((l) => l.netns === g.netns && l.link === g.guestIf)) problems.push(`interface ${g.guestIf} is missing in ${g.netns}`);
    }
    if (!deviceModel) problems.push('no device model counters');
    else if (!deviceModel.stats.running) problems.push(`the device model stopped: ${deviceModel.stats.lastError ?? 'no reason given'}`);
    else if (age !== null && age > STALE_STATS_S) problems.push(`the device model's counters are ${age.toFixed(0)} s old`);
  } else if (!qemu && !isEmptyNetwork(network)) {
    problems.push('lab interfaces or namespaces exist without a state file: run rtprobe lab down');
  }
  if ((state !== null || qemu !== null) && !hasSafetyRoute(LAB_RANGE)) problems.push(`the safety route 'unreachable ${LAB_RANGE}' is missing`);
  const up = state !== null || qemu !== null;
  return {
    up, healthy: up && problems.length === 0 && (qemu?.problems.length ?? 0) === 0, problems, state, processes, network,
    device_model: deviceModel, device_model_age_s: age, qemu,
  };
}

function direction(name: string, d: DeviceModelDirectionStats): string {
  return `  ${name.padEnd(9)} frames ${d.frames}  forwarded ${d.forwarded}  undistorted ${d.undistorted}  ` +
    `dropped ${d.droppedInjected} injected + ${d.droppedQueue} queue full  duplicated ${d.duplicated}  ` +
    `reordered ${d.reordered}  delayed ${d.delayed}  spikes ${d.spikes}  queue high-water ${d.queueHighWater}`;
}

export function formatLabStatus(view: LabStatusView): string {
  const lines: string[] = [];
  if (view.qemu) {
    lines.push(`lab is up since ${view.qemu.state.created}${view.healthy ? '' : ' (DEGRADED)'}`);
    lines.push(...formatQemuStatus(view.qemu));
    for (const problem of view.problems) lines.push(`  problem: ${problem}`);
    return `${lines.join('\n')}\n`;
  }
  if (!view.state) {
    lines.push('lab is down');
    for (const problem of view.problems) lines.push(`  problem: ${problem}`);
    return `${lines.join('\n')}\n`;
  }
  const pid = (role: LabProcessRole): string => {
    const p = view.processes.find((x) => x.role === role);
    return p ? `pid ${p.pid} ${p.alive ? 'running' : 'NOT RUNNING'}` : 'not started';
  };
  lines.push(`lab is up since ${view.state.created}${view.healthy ? '' : ' (DEGRADED)'}`);
  lines.push(`  pt   netns ${LAB_PT.netns}   agent ${LAB_PT.guestAddress}:${LAB_PT.udpPort} (${pid('agent-pt')})  via veth ${LAB_PT.hostIf} ${LAB_PT.hostAddress}`);
  lines.push(`  emu  netns ${LAB_EMU.netns}  agent ${LAB_EMU.guestAddress}:${LAB_EMU.udpPort} (${pid('agent-emu')})  via TAP ${LAB_EMU.hostIf} ${LAB_EMU.hostAddress}, device model (${pid('device-model')})`);
  for (const problem of view.problems) lines.push(`  problem: ${problem}`);
  const knobs = describeKnobs(view.state.knobs);
  lines.push(`device model knobs: ${knobs.length > 0 ? knobs.join(' ') : 'none (a plain copy loop)'}`);
  const dm = view.device_model;
  if (dm) {
    lines.push(direction('to guest', dm.stats.aToB));
    lines.push(direction('to host', dm.stats.bToA));
    lines.push(`  stalls ${dm.stats.stalls} (lock held ${(dm.stats.stallHeldNs / 1e6).toFixed(1)} ms in all), longest lock wait ${(dm.stats.maxLockWaitNs / 1e6).toFixed(2)} ms; counters of ${dm.updated}`);
  }
  lines.push('compare them:');
  lines.push(`  rtprobe compare --target passthrough=${LAB_PT.guestAddress} --target emulated=${LAB_EMU.guestAddress}`);
  lines.push(`  agent streams: --agent-ws passthrough=ws://${LAB_PT.guestAddress}:${LAB_PT.wsPort} --agent-ws emulated=ws://${LAB_EMU.guestAddress}:${LAB_EMU.wsPort} --agent-token-file ${view.state.token_file}`);
  return `${lines.join('\n')}\n`;
}
