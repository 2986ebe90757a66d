/**
 * `rtprobe lab up|down|status` (and the hidden `lab device-model`): a passthrough guest and an
 * emulated guest on one machine, to compare side by side. It lives in controller/ because it
 * is a shipped command, not test scaffolding: users run it to see the two paths differ.
 */
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, parseFlags, printUsageError } from '../../shared/cli/command-io.js';
import { loadNativeAddon } from '../../shared/native/native-addon.js';
import { deviceModelCommand } from './device-model-command.js';
import { KNOB_FLAG_SPEC, KNOBS_HELP, parseKnobs, type KnobFlags } from './device-model-knobs.js';
import { labDown } from './lab-down.js';
import { LAB_STATE_DIR } from './lab-layout.js';
import { formatLabStatus, gatherLabStatus } from './lab-status.js';
import { readLabState } from './lab-state.js';
import { checkIpCommand, findDeviceModelPids, findLabNetwork, isEmptyNetwork, networkNames } from './lab-system.js';
import { labUp } from './lab-up.js';

export const LAB_HELP = `Usage: rtprobe lab up [knobs] | down | status [--json]

A lab on one machine (root): two guest network namespaces, each with an agent.
  rtp-pt   10.254.20.2  reached through a veth pair: a kernel-only path, the passthrough
                        stand-in (host side rtp-pt-h 10.254.20.1)
  rtp-emu  10.254.21.2  reached through two TAP devices joined by a user-space device model:
                        the emulated-NIC stand-in (host side rtp-emu-h 10.254.21.1)
Agents listen on UDP 7707 and stream on 7708 (token in ${LAB_STATE_DIR}/token).

  up        create it (exit 2 if it is already up or leftovers exist: run 'down' first)
  down      end the processes and remove the namespaces and interfaces; idempotent, and it
            also cleans up after a crash (it looks for the lab's names, not only the state)
  status    what exists, the device model's counters, and the targets for 'rtprobe compare'
            (--json: the same as JSON); exit 0 up and healthy, 1 down or degraded

${KNOBS_HELP}
State: ${LAB_STATE_DIR}/state.json. Exit status: 0 done, 1 see status, 2 bad flags, not root,
'ip' missing, already up, or a set-up failure (everything made is removed again).
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

async function upCommand(argv: string[]): Promise<number> {
  const parsed = parseFlags<KnobFlags>(argv, KNOB_FLAG_SPEC);
  if (parsed instanceof Error) return printUsageError('lab up', parsed);
  if (parsed.help) {
    process.stdout.write(LAB_HELP);
    return EXIT_OK;
  }
  const knobs = parseKnobs(parsed.flags);
  if (knobs instanceof Error) return printUsageError('lab up', knobs);
  const denied = needRoot('up') ?? needIp('up');
  if (denied !== null) return denied;
  const state = readLabState(LAB_STATE_DIR);
  if (state !== null && !(state instanceof Error)) {
    process.stderr.write(`rtprobe lab up: the lab is already up (since ${state.created}); 'rtprobe lab status' shows it, 'rtprobe lab down' removes it\n`);
    return EXIT_USAGE;
  }
  const leftovers = [...networkNames(findLabNetwork()), ...findDeviceModelPids().map((pid) => `device model pid ${pid}`)];
  if (state instanceof Error || leftovers.length > 0) {
    const what = state instanceof Error ? [state.message, ...leftovers] : leftovers;
    process.stderr.write(`rtprobe lab up: leftovers of an earlier lab (${what.join(', ')}); run 'rtprobe lab down' first\n`);
    return EXIT_USAGE;
  }
  const loaded = loadNativeAddon();
  if (!loaded.ok) {
    process.stderr.write(`rtprobe lab up: the device model needs the native addon: ${loaded.reason}\n`);
    return EXIT_USAGE;
  }
  const result = await labUp(LAB_STATE_DIR, parsed.flags);
  if (result instanceof Error) {
    process.stderr.write(`rtprobe lab up: ${result.message}\n`);
    const down = await labDown(LAB_STATE_DIR);
    process.stderr.write(down.left.length === 0
      ? 'rtprobe lab up: everything it made was removed again\n'
      : `rtprobe lab up: could not remove ${down.left.join(', ')}\n`);
    return EXIT_USAGE;
  }
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
  const parsed = parseFlags<{ json?: boolean }>(argv, { json: { type: 'boolean' } });
  if (parsed instanceof Error) return printUsageError('lab status', parsed);
  if (parsed.help) {
    process.stdout.write(LAB_HELP);
    return EXIT_OK;
  }
  const denied = needIp('status');
  if (denied !== null) return denied;
  const view = gatherLabStatus(LAB_STATE_DIR);
  process.stdout.write(parsed.flags.json ? `${JSON.stringify(view, null, 2)}\n` : formatLabStatus(view));
  return view.healthy ? EXIT_OK : EXIT_FAILED;
}

const SUBCOMMANDS: Record<string, (argv: string[]) => Promise<number>> = {
  up: upCommand,
  down: downCommand,
  status: statusCommand,
  'device-model': deviceModelCommand,
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
