/**
 * `rtprobe lab device-model` (hidden; `lab up` starts it detached): runs the emulated NIC
 * between two TAPs until SIGTERM/SIGINT, writing its counters to --stats-file when it starts
 * (the sign that both TAPs are attached) and every second after.
 */
import { parseFlags, printUsageError, EXIT_USAGE } from '../../shared/cli/command-io.js';
import { writeFileAtomic } from '../../shared/cli/write-file-atomic.js';
import { loadNativeAddon } from '../../shared/native/native-addon.js';
import { startDeviceModel, type DeviceModel } from './native-device-model.js';
import { KNOB_FLAG_SPEC, KNOBS_HELP, parseKnobs, type KnobFlags } from './device-model-knobs.js';

export const DEVICE_MODEL_HELP = `Usage: rtprobe lab device-model --tap-a IF --tap-b IF --stats-file FILE [knobs]

The lab's emulated NIC, normally started by 'rtprobe lab up'. Copies Ethernet frames between
two existing TAP devices (A = host side, B = guest side) until SIGTERM or SIGINT.

  --tap-a IF               host-side TAP
  --tap-b IF               guest-side TAP
  --netns-b NAME           attach to --tap-b inside network namespace NAME
  --stats-file FILE        the counters as JSON, at start and every second

${KNOBS_HELP}`;

interface Flags extends KnobFlags {
  'tap-a'?: string;
  'tap-b'?: string;
  'netns-b'?: string;
  'stats-file'?: string;
}

const SPEC = {
  ...KNOB_FLAG_SPEC,
  'tap-a': { type: 'string' },
  'tap-b': { type: 'string' },
  'netns-b': { type: 'string' },
  'stats-file': { type: 'string' },
} as const;

/** What the stats file holds. */
export interface DeviceModelStatsFile {
  pid: number;
  started: string;
  updated: string;
  tap_a: string;
  tap_b: string;
  knobs: KnobFlags;
  stats: ReturnType<DeviceModel['stats']>;
}

export async function deviceModelCommand(argv: string[]): Promise<number> {
  const parsed = parseFlags<Flags>(argv, SPEC);
  if (parsed instanceof Error) return printUsageError('lab device-model', parsed);
  if (parsed.help) {
    process.stdout.write(DEVICE_MODEL_HELP);
    return 0;
  }
  const { flags } = parsed;
  const tapA = flags['tap-a'];
  const tapB = flags['tap-b'];
  const statsFile = flags['stats-file'];
  if (!tapA || !tapB || !statsFile) {
    return printUsageError('lab device-model', new Error('--tap-a, --tap-b and --stats-file are required'));
  }
  const knobs = parseKnobs(flags);
  if (knobs instanceof Error) return printUsageError('lab device-model', knobs);
  const { 'tap-a': _a, 'tap-b': _b, 'netns-b': _n, 'stats-file': _s, ...knobFlags } = flags;

  const loaded = loadNativeAddon();
  if (!loaded.ok) {
    process.stderr.write(`rtprobe lab device-model: the native addon is needed: ${loaded.reason}\n`);
    return EXIT_USAGE;
  }
  let model: DeviceModel;
  try {
    model = startDeviceModel(loaded.addon, { tapA, tapB, ...(flags['netns-b'] ? { netnsB: flags['netns-b'] } : {}), ...knobs });
  } catch (error) {
    process.stderr.write(`rtprobe lab device-model: ${(error as Error).message}\n`);
    return EXIT_USAGE;
  }
  const started = new Date().toISOString();
  const write = (): ReturnType<DeviceModel['stats']> => {
    const stats = model.stats();
    const file: DeviceModelStatsFile = {
      pid: process.pid, started, updated: new Date().toISOString(), tap_a: tapA, tap_b: tapB, knobs: knobFlags, stats,
    };
    writeFileAtomic(statsFile, `${JSON.stringify(file)}\n`);
    return stats;
  };
  write();
  process.stdout.write(`device model running: ${tapA} <-> ${tapB}\n`);

  return new Promise<number>((resolve) => {
    const finish = (code: number, why: string): void => {
      clearInterval(timer);
      model.stop();
      const stats = write();
      process.stdout.write(`device model stopped (${why}): ${JSON.stringify(stats)}\n`);
      resolve(code);
    };
    const timer = setInterval(() => {
      const stats = write();
      // A TAP deleted under the model ends its thread: nothing left to do.
      if (!stats.running) finish(1, stats.lastError ?? 'copy thread ended');
    }, 1000);
    process.once('SIGTERM', () => finish(0, 'SIGTERM'));
    process.once('SIGINT', () => finish(0, 'SIGINT'));
  });
}
