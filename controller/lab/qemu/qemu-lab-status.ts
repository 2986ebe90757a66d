/**
 * The QEMU guest's part of `lab status`: is QEMU running, are its TAPs there, how long the guest
 * took to boot and its agent to listen, and every target with its NIC model, accelerator and
 * vhost. gatherQemuStatus reads the system; formatQemuStatus is pure.
 */
import type { FoundNetwork } from '../lab-plan.js';
import { processArgv } from '../lab-system.js';
import { readQemuLabState, type QemuLabState } from './qemu-lab-state.js';

export interface QemuStatusView {
  state: QemuLabState;
  /** QEMU's pid still runs the recorded command line */
  running: boolean;
  problems: string[];
}

/** null: no QEMU lab (an unreadable qemu.json is a problem of the whole lab, returned as Error). */
export function gatherQemuStatus(dir: string, network: FoundNetwork): QemuStatusView | Error | null {
  const state = readQemuLabState(dir);
  if (state === null || state instanceof Error) return state;
  const running = state.qemu !== null && processArgv(state.qemu.pid)?.join('\0') === state.qemu.argv.join('\0');
  const problems: string[] = [];
  if (!running) problems.push(state.qemu ? `QEMU (pid ${state.qemu.pid}) is not running` : 'QEMU was not started');
  for (const target of state.targets) if (!network.rootLinks.includes(target.tap)) problems.push(`interface ${target.tap} is missing`);
  if (state.agent_ready_s === null) problems.push('the guest agent never said it was ready');
  return { state, running, problems };
}

const seconds = (s: number | null): string => (s === null ? '—' : `${s.toFixed(1)} s`);

export function formatQemuStatus(view: QemuStatusView): string[] {
  const s = view.state;
  const lines = [
    `QEMU guest: pid ${s.qemu?.pid ?? '—'} ${view.running ? 'running' : 'NOT RUNNING'}, ${s.accel}${s.accel === 'tcg' ? ' (software emulation: a slow CPU, every figure includes it)' : ''}, ` +
      `${s.cpus} vCPU, ${s.memory}; booted to /init in ${seconds(s.boot_s)}, agent ready after ${seconds(s.agent_ready_s)}`,
    `  kernel ${s.kernel}, image ${s.initrd}${s.image_cached ? ' (cached)' : ''}`,
    `  serial console ${s.serial_log}, monitor ${s.monitor_socket}`,
  ];
  for (const t of s.targets) {
    lines.push(`  ${t.name.padEnd(13)} ${t.address.padEnd(13)} ${t.model.padEnd(8)} TAP ${t.tap} ${t.host_address}` +
      `${t.vhost === null ? '' : `  vhost-net ${t.vhost ? 'on' : 'off'}`}  stream ${t.ws_url}`);
  }
  for (const problem of view.problems) lines.push(`  problem: ${problem}`);
  const [first, second] = s.targets;
  if (first && second) {
    lines.push('compare them:');
    lines.push(`  rtprobe compare --target ${second.name}=${second.address} --target ${first.name}=${first.address} \\`);
    lines.push(`    --agent-ws ${second.name}=${second.ws_url} --agent-ws ${first.name}=${first.ws_url} --agent-token-file ${s.token_file}`);
  }
  return lines;
}
