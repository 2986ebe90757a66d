/**
 * `rtprobe lab up|down|status` (and the hidden `lab device-model`): a passthrough guest and an
 * emulated guest on one machine, to compare side by side. It lives in controller/ because it
 * is a shipped command, not test scaffolding: users run it to see the two paths differ.
 */
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, parseFlags, printUsageError } from '../../shared/cli/command-io.js';
import { writeFileAtomic } from '../../shared/cli/write-file-atomic.js';
import { checkOutputFile } from '../../shared/cli/output-paths.js';
import { loadNativeAddon } from '../../shared/native/native-addon.js';
import { deviceModelCommand } from './device-model-command.js';
import { describeKnobs, KNOB_FLAG_SPEC, KNOBS_HELP, parseKnobs, type KnobFlags } from './device-model-knobs.js';
import { labDown } from './lab-down.js';
import { LAB_IMAGE_CACHE_DIR, LAB_RANGE, LAB_STATE_DIR } from './lab-layout.js';
import { formatLabStatus, gatherLabStatus } from './lab-status.js';
import { readLabState, type LabState } from './lab-state.js';
import { checkIpCommand, findDeviceModelPids, findLabNetwork, findPidsByArgv, isEmptyNetwork, networkNames } from './lab-system.js';
import { QEMU_GUEST_NAME } from './qemu/qemu-argv.js';
import { parseQemuFlags, QEMU_FLAG_SPEC, QEMU_FLAGS_HELP, qemuOnlyFlagsGiven, type QemuFlags } from './qemu/qemu-flags.js';
import { guestExecCommand, guestExecdCommand } from './qemu/guest-exec-command.js';
import { qemuLabUp } from './qemu/qemu-lab.js';
import { readQemuLabState, type QemuLabState } from './qemu/qemu-lab-state.js';
import { labUp } from './lab-up.js';

export const LAB_HELP = `Usage: rtprobe lab up [knobs] | up --qemu [qemu flags] | down | status [--json FILE|-]

Guests on one machine, to compare side by side (root). Two kinds, one at a time:

lab up: two guest network namespaces, each with an agent.
  rtp-pt   10.254.20.2  reached through a veth pair: a kernel-only path, the passthrough
                        stand-in (host side rtp-pt-h 10.254.20.1)
  rtp-emu  10.254.21.2  reached through two TAP devices joined by a user-space device model:
                        the emulated-NIC stand-in (host side rtp-emu-h 10.254.21.1)

lab up --qemu: one real QEMU guest (a Debian kernel, busybox, node and the rtprobe bundle in an
initramfs built from this host's packages), one NIC per model, each on its own TAP:
  qemu-e1000    10.254.22.2  e1000, emulated in QEMU's user space (host side rtp-q-e1000 .1)
  qemu-virtio   10.254.22.6  virtio-net-pci, vhost-net when /dev/vhost-net works (rtp-q-virtio .5)
  qemu-rtl8139  10.254.22.10 rtl8139, with --nics (rtp-q-rtl8139 .9)
  Needs qemu-system-x86, linux-image-amd64, busybox-static (apt-get install --no-install-recommends).

Agents listen on UDP 7707 and stream on 7708 (the token file is in 'lab status'). While a lab
is up the root namespace holds 'unreachable ${LAB_RANGE}': a lab link that goes down never
sends a probe off this machine.

  up        create it (exit 2 if a lab is already up or leftovers exist: run 'down' first)
  down      quit the guest, end the processes, remove the namespaces, interfaces and the route;
            idempotent, and it also cleans up after a crash (it looks for the lab's names)
  status    what exists, the device model's counters or the guest's boot, and the targets for
            'rtprobe compare' (--json FILE|-: the same as JSON, to FILE or, with - or a bare
            --json, to standard output instead of the text); exit 0 up and healthy, 1 down or degraded

${KNOBS_HELP}
${QEMU_FLAGS_HELP}
State: ${LAB_STATE_DIR}/ (state.json, qemu.json, logs); the guest image is kept in
${LAB_IMAGE_CACHE_DIR}/ and rebuilt when an input changes. Exit status: 0 done, 1 see status,
2 bad flags, not root, a missing package, already up, or a set-up failure (everything made is
removed again).
`;

function needRoot(sub: string): number | null {
  if (process.getuid?.() === 0) return null;
  process.stderr.write(`rtprobe lab ${sub}: needs root (it creates network namespaces and TAP devices); run it with sudo\n`);
  return EXIT_USAGE;
}

function needIp(sub: string): number | null {
  const error = checkIpCommand();
  if (!error) return null;
  process.stderr.write(`rtprobe lab ${sub}: ${error.message}\n`);
  return EXIT_USAGE;
}

/** exit 2 with a message when a lab (either kind) is up or has left something behind */
function refuseWhenLabExists(): number | null {
  const state = readLabState(LAB_STATE_DIR);
  const qemu = readQemuLabState(LAB_STATE_DIR);
  const upSince = [state, qemu].find((s): s is LabState | QemuLabState => s !== null && !(s instanceof Error));
  if (upSince) {
    process.stderr.write(`rtprobe lab up: a lab is already up (since ${upSince.created}); 'rtprobe lab status' shows it, 'rtprobe lab down' removes it\n`);
    return EXIT_USAGE;
  }
  const leftovers = [
    ...[state, qemu].filter((s): s is Error => s instanceof Error).map((e) => e.message),
    ...networkNames(findLabNetwork()),
    ...findDeviceModelPids().map((pid) => `device model pid ${pid}`),
    ...findPidsByArgv(['-name', QEMU_GUEST_NAME]).map((pid) => `QEMU pid ${pid}`),
  ];
  if (leftovers.length > 0) {
    process.stderr.write(`rtprobe lab up: leftovers of an earlier lab (${leftovers.join(', ')}); run 'rtprobe lab down' first\n`);
    return EXIT_USAGE;
  }
  return null;
}

/** After a failed `up`: says why, removes everything it made, exit 2. */
async function undoFailedUp(error: Error): Promise<number> {
  process.stderr.write(`rtprobe lab up: ${error.message}\n`);
  const down = await labDown(LAB_STATE_DIR);
  process.stderr.write(down.left.length === 0
    ? 'rtprobe lab up: everything it made was removed again\n'
    : `rtprobe lab up: could not remove ${down.left.join(', ')}\n`);
  return EXIT_USAGE;
}

async function qemuUp(flags: QemuFlags & KnobFlags): Promise<number> {
  const knobs = describeKnobs(flags);
  if (knobs.length > 0) return printUsageError('lab up', new Error(`${knobs.join(' ')}: device model knobs belong to the namespace lab, not --qemu (QEMU's own device models are what it measures)`));
  const options = parseQemuFlags(flags);
  if (options instanceof Error) return printUsageError('lab up', options);
  const denied = needRoot('up') ?? needIp('up') ?? refuseWhenLabExists();
  if (denied !== null) return denied;
  const result = await qemuLabUp(LAB_STATE_DIR, {
    ...options,
    // test-only: a kernel that never boots, to check that a failed boot is cleaned up
    ...(process.env.RTPROBE_LAB_GUEST_KERNEL ? { kernel: process.env.RTPROBE_LAB_GUEST_KERNEL } : {}),
    log: (line) => process.stderr.write(`rtprobe lab up: ${line}\n`),
  });
  if (result instanceof Error) return undoFailedUp(result);
  process.stdout.write(formatLabStatus(gatherLabStatus(LAB_STATE_DIR)));
  return EXIT_OK;
}

async function upCommand(argv: string[]): Promise<number> {
  const parsed = parseFlags<KnobFlags & QemuFlags>(argv, { ...KNOB_FLAG_SPEC, ...QEMU_FLAG_SPEC });
  if (parsed instanceof Error) return printUsageError('lab up', parsed);
  if (parsed.help) {
    process.stdout.write(LAB_HELP);
    return EXIT_OK;
  }
  if (parsed.flags.qemu) return qemuUp(parsed.flags);
  const qemuOnly = qemuOnlyFlagsGiven(parsed.flags);
  if (qemuOnly.length > 0) return printUsageError('lab up', new Error(`${qemuOnly.join(', ')}: only with --qemu`));
  const knobs = parseKnobs(parsed.flags);
  if (knobs instanceof Error) return printUsageError('lab up', knobs);
  const denied = needRoot('up') ?? needIp('up') ?? refuseWhenLabExists();
  if (denied !== null) return denied;
  const loaded = loadNativeAddon();
  if (!loaded.ok) {
    process.stderr.write(`rtprobe lab up: the device model needs the native addon: ${loaded.reason}\n`);
    return EXIT_USAGE;
  }
  const result = await labUp(LAB_STATE_DIR, parsed.flags);
  if (result instanceof Error) return undoFailedUp(result);
  process.stdout.write(formatLabStatus(gatherLabStatus(LAB_STATE_DIR)));
  return EXIT_OK;
}

async function downCommand(argv: string[]): Promise<number> {
  const parsed = parseFlags<Record<string, never>>(argv, {});
  if (parsed instanceof Error) return printUsageError('lab down', parsed);
  if (parsed.help) {
    process.stdout.write(LAB_HELP);
    return EXIT_OK;
  }
  const denied = needRoot('down') ?? needIp('down');
  if (denied !== null) return denied;
  const report = await labDown(LAB_STATE_DIR);
  if (report.stateProblem) process.stderr.write(`rtprobe lab down: ${report.stateProblem} (removed anyway)\n`);
  if (report.ended.length === 0 && report.removed.length === 0 && report.left.length === 0) {
    process.stdout.write('lab is down (nothing to remove)\n');
    return EXIT_OK;
  }
  if (report.ended.length > 0) process.stdout.write(`ended pids ${report.ended.join(' ')}\n`);
  if (report.removed.length > 0) process.stdout.write(`removed ${report.removed.join(', ')}\n`);
  if (report.left.length > 0) {
    process.stderr.write(`rtprobe lab down: could not remove ${report.left.join(', ')}\n`);
    return EXIT_FAILED;
  }
  process.stdout.write('lab is down\n');
  return EXIT_OK;
}

async function statusCommand(argv: string[]): Promise<number> {
  const parsed = parseFlags<{ json?: string }>(argv, { json: { type: 'string' } });
  if (parsed instanceof Error) return printUsageError('lab status', parsed);
  if (parsed.help) {
    process.stdout.write(LAB_HELP);
    return EXIT_OK;
  }
  const json = parsed.flags.json;
  if (json === '') return printUsageError('lab status', new Error('--json: give a file name or - for standard output'));
  const pathProblem = json === undefined || json === '-' ? null : checkOutputFile('--json', json);
  if (pathProblem) return printUsageError('lab status', pathProblem);
  const denied = needIp('status');
  if (denied !== null) return denied;
  const view = gatherLabStatus(LAB_STATE_DIR);
  const jsonText = `${JSON.stringify(view, null, 2)}\n`;
  if (json !== undefined && json !== '-') {
    try {
      writeFileAtomic(json, jsonText);
    } catch (error) {
      process.stderr.write(`rtprobe lab status: cannot write --json ${json}: ${(error as Error).message}\n`);
      return EXIT_USAGE;
    }
  }
  process.stdout.write(json === '-' ? jsonText : formatLabStatus(view));
  return view.healthy ? EXIT_OK : EXIT_FAILED;
}

const SUBCOMMANDS: Record<string, (argv: string[]) => Promise<number>> = {
  up: upCommand,
  down: downCommand,
  status: statusCommand,
  'device-model': deviceModelCommand,
  'guest-execd': guestExecdCommand,
  'guest-exec': guestExecCommand,
};

export async function labCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h') {
    process.stdout.write(LAB_HELP);
    return sub === undefined ? EXIT_USAGE : EXIT_OK;
  }
  const handler = SUBCOMMANDS[sub];
  if (!handler) return printUsageError('lab', new Error(`unknown subcommand '${sub}' (up, down or status)`));
  return handler(rest);
}
