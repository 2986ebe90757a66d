/**
 * `rtprobe lab up --qemu` and its share of `lab down`: one QEMU guest with a NIC per model,
 * each on its own TAP, the agent inside listening on all of them. The guest image comes from
 * guest-image.ts; QEMU runs detached, its serial console in a file the host reads for the
 * guest's progress, its monitor on a unix socket that `down` asks to quit.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LAB_IMAGE_CACHE_DIR, LAB_RANGE } from '../lab-layout.js';
import { logTail, pollUntilReady, spawnDetached } from '../lab-processes.js';
import { addSafetyRoute, findOnPath, findPidsByArgv, isAlive, processArgv, runIpSteps, terminate } from '../lab-system.js';
import { buildGuestImage, MissingPartError } from './guest-image.js';
import { GUEST_UDP_PORT, GUEST_UP_MARKER, GUEST_WS_PORT, guestAgentTimerFlags } from './guest-init.js';
import { guestNic, type GuestNic, type NicModel } from './guest-nics.js';
import { QEMU_BINARY, QEMU_GUEST_NAME, qemuArgv, type Accel } from './qemu-argv.js';
import { readQemuLabState, writeQemuLabState, type QemuLabState, type QemuTarget } from './qemu-lab-state.js';

export interface QemuLabOptions {
  nics: NicModel[];
  accel: 'auto' | Accel;
  cpus: number;
  memory: string;
  bootTimeoutMs: number;
  /** a kernel other than the newest in /boot (tests: one that never boots) */
  kernel?: string;
  log: (line: string) => void;
}

const MONITOR_QUIT_MS = 5000;
/**
 * How long `--accel auto` gives KVM to start the guest's /init before it falls back to TCG. KVM
 * boots it in seconds; a /dev/kvm that opens but cannot run this guest (nested KVM: QEMU aborts
 * setting an MSR of `-cpu host`, or the guest hangs before its first line) would otherwise cost
 * the whole --boot-timeout and then fail.
 */
export const KVM_TRIAL_MS = 30_000;

/** Opens a device read-write: the test of whether KVM or vhost-net can really be used here. */
export function deviceUsable(path: string): boolean {
  try {
    closeSync(openSync(path, 'r+'));
    return true;
  } catch {
    return false;
  }
}

/** `--accel auto`: KVM where /dev/kvm opens, else TCG; `kvm` without a usable /dev/kvm is an error. */
export function resolveAccel(wanted: 'auto' | Accel, kvmUsable: boolean): Accel | Error {
  if (wanted === 'tcg') return 'tcg';
  if (kvmUsable) return 'kvm';
  if (wanted === 'kvm') return new Error('--accel kvm: /dev/kvm cannot be opened here (no KVM, or no permission); --accel tcg runs without it');
  return 'tcg';
}

function targetOf(nic: GuestNic, vhost: boolean): QemuTarget {
  return {
    name: nic.name, model: nic.model, address: nic.guestAddress, udp_port: GUEST_UDP_PORT,
    ws_url: `ws://${nic.guestAddress}:${GUEST_WS_PORT}`, tap: nic.tap, host_address: nic.hostAddress,
    vhost: nic.canVhost ? vhost : null,
  };
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** The guest's serial log and QEMU's own output, for an error message. */
function guestTails(state: QemuLabState): string {
  return `serial console (${state.serial_log}):\n${logTail(state.serial_log, 12)}\nqemu (${state.qemu_log}):\n${logTail(state.qemu_log, 5)}`;
}

/** Waits for `pattern` in the serial log; seconds since `startedMs`, or an Error quoting the logs. */
async function waitForSerial(state: QemuLabState, pid: number, what: string, ready: (serial: string) => boolean,
  startedMs: number, deadlineMs: number): Promise<number | Error> {
  const outcome = await pollUntilReady(pid, () => ready(readText(state.serial_log)), deadlineMs);
  if (outcome === 'ready') return (Date.now() - startedMs) / 1000;
  return new Error(outcome === 'exited'
    ? `QEMU (pid ${pid}) exited before ${what}\n${guestTails(state)}`
    : `${what} did not happen within ${((deadlineMs - startedMs) / 1000).toFixed(0)} s\n${guestTails(state)}`);
}

/**
 * Brings the guest up. On an Error the caller runs `lab down`: the state file is written before
 * anything is made, so `down` finds everything (TAPs by name, QEMU by its pid and its -name).
 */
export async function qemuLabUp(dir: string, options: QemuLabOptions): Promise<QemuLabState | Error> {
  if (!findOnPath(QEMU_BINARY)) return new MissingPartError(`${QEMU_BINARY} is missing: apt-get install --no-install-recommends qemu-system-x86`);
  const accel = resolveAccel(options.accel, deviceUsable('/dev/kvm'));
  if (accel instanceof Error) return accel;
  const vhost = deviceUsable('/dev/vhost-net');
  const nics = options.nics.map(guestNic);
  const started = Date.now();
  const image = buildGuestImage(LAB_IMAGE_CACHE_DIR, nics, guestAgentTimerFlags(accel));
  if (image instanceof Error) return image;
  options.log(`guest image ${image.initrd} (${(image.bytes / 2 ** 20).toFixed(0)} MiB, ${image.cached ? 'cached' : `built in ${((Date.now() - started) / 1000).toFixed(1)} s`}), kernel ${image.kernel}`);

  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const token = randomBytes(24).toString('hex');
  const state: QemuLabState = {
    version: 1, created: new Date().toISOString(), accel, cpus: options.cpus, memory: options.memory,
    kernel: options.kernel ?? image.kernel, initrd: image.initrd, image_cached: image.cached,
    token_file: join(dir, 'qemu-token'), serial_log: join(dir, 'qemu-serial.log'), qemu_log: join(dir, 'qemu.log'),
    monitor_socket: join(dir, 'qemu-monitor.sock'), qemu: null, boot_s: null, agent_ready_s: null,
    targets: nics.map((nic) => targetOf(nic, vhost)),
  };
  writeFileSync(state.token_file, `${token}\n`, { mode: 0o600 });
  writeQemuLabState(dir, state);

  const route = addSafetyRoute(LAB_RANGE);
  if (route) return route;
  const taps = runIpSteps(nics.flatMap((nic) => [
    ['tuntap', 'add', 'dev', nic.tap, 'mode', 'tap'], ['addr', 'add', `${nic.hostAddress}/${nic.prefixLength}`, 'dev', nic.tap],
    ['link', 'set', nic.tap, 'up'],
  ]));
  if (taps) return taps;

  // Starts QEMU and waits up to bootMs for the guest's /init; the QEMU entry and when it started.
  const launch = async (accel: Accel, initrd: string, bootMs: number): Promise<{ qemu: NonNullable<QemuLabState['qemu']>; started: number } | Error> => {
    const argv = qemuArgv({
      accel, cpus: options.cpus, memory: options.memory, kernel: state.kernel, initrd, nics, vhost, token,
      serialLog: state.serial_log, monitorSocket: state.monitor_socket, pidFile: join(dir, 'qemu.pid'),
    });
    const qemuStarted = Date.now();
    const pid = spawnDetached(QEMU_BINARY, argv, state.qemu_log);
    if (pid instanceof Error) return pid;
    state.accel = accel;
    state.initrd = initrd;
    const qemu = { pid, argv: [QEMU_BINARY, ...argv] };
    state.qemu = qemu;
    writeQemuLabState(dir, state);
    options.log(`QEMU pid ${pid} (${accel}${accel === 'tcg' ? ': software emulation, a slow CPU' : ''}), ${nics.map((n) => n.model).join(' + ')}${nics.some((n) => n.canVhost) ? `, vhost-net ${vhost ? 'on' : 'off (/dev/vhost-net not usable)'}` : ''}`);
    const boot = await waitForSerial(state, pid, 'the guest\'s /init started', (s) => s.includes(GUEST_UP_MARKER), qemuStarted, qemuStarted + bootMs);
    if (boot instanceof Error) return boot;
    state.boot_s = boot;
    return { qemu, started: qemuStarted };
  };
  const trial = accel === 'kvm' && options.accel === 'auto';
  let launched = await launch(accel, image.initrd, trial ? Math.min(KVM_TRIAL_MS, options.bootTimeoutMs) : options.bootTimeoutMs);
  if (launched instanceof Error && trial) {
    options.log(`KVM did not start the guest (${launched.message.split('\n')[0] ?? ''}; QEMU said: ${logTail(state.qemu_log, 1) || 'nothing'}): --accel auto falls back to TCG`);
    if (state.qemu) await terminate([state.qemu.pid]);
    const tcgImage = buildGuestImage(LAB_IMAGE_CACHE_DIR, nics, guestAgentTimerFlags('tcg'));
    if (tcgImage instanceof Error) return tcgImage;
    launched = await launch('tcg', tcgImage.initrd, options.bootTimeoutMs);
  }
  if (launched instanceof Error) return launched;
  const { qemu: { pid }, started: qemuStarted } = launched;
  const deadline = qemuStarted + options.bootTimeoutMs;
  // QEMU execs itself: read its argv now, for `down`'s check that the pid is still this QEMU.
  launched.qemu.argv = processArgv(pid) ?? launched.qemu.argv;
  const ready = await waitForSerial(state, pid, 'the guest agent listened',
    (s) => /^listening udp /m.test(s) && /^stream ws:\/\//m.test(s) && /^guest-exec listening /m.test(s), qemuStarted, deadline);
  if (ready instanceof Error) return ready;
  state.agent_ready_s = ready;
  const serial = readText(state.serial_log);
  const unconfigured = nics.filter((nic) => !serial.includes(`rtprobe-guest: ${nic.model} is `));
  writeQemuLabState(dir, state);
  if (unconfigured.length > 0) {
    return new Error(`the guest found no NIC for ${unconfigured.map((n) => n.model).join(', ')}\n${guestTails(state)}`);
  }
  return state;
}

/** Asks a QEMU monitor to quit; true once the socket took the command. */
function monitorQuit(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const connection = connect(socket, () => connection.end('quit\n'));
    const timer = setTimeout(() => { connection.destroy(); resolve(false); }, 1000);
    connection.on('error', () => { clearTimeout(timer); resolve(false); });
    connection.on('close', () => { clearTimeout(timer); resolve(true); });
    connection.resume();
  });
}

/**
 * Ends the lab's QEMU: quit through its monitor (the guest's devices are closed in order),
 * then signals for whatever still runs, also a QEMU the state file no longer names.
 */
export async function quitQemuGuest(dir: string): Promise<{ ended: number[]; problem: string | null }> {
  const read = readQemuLabState(dir);
  const state = read instanceof Error ? null : read;
  const recorded = state?.qemu && processArgv(state.qemu.pid)?.join('\0') === state.qemu.argv.join('\0') ? [state.qemu.pid] : [];
  const pids = [...new Set([...recorded, ...findPidsByArgv(['-name', QEMU_GUEST_NAME])])].filter((pid) => pid !== process.pid);
  if (pids.length > 0 && state && await monitorQuit(state.monitor_socket)) {
    const deadline = Date.now() + MONITOR_QUIT_MS;
    while (pids.some(isAlive) && Date.now() < deadline) await sleep(50);
  }
  const stillThere = pids.filter(isAlive);
  await terminate(stillThere);
  return { ended: pids, problem: read instanceof Error ? read.message : null };
}
