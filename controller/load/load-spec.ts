/**
 * Load scenarios for `rtprobe compare --load KIND[@WHERE] [--load-in WHERE]`: the pure half
 * (flag parsing, the command line of each kind and place, what each needs, the report line).
 * Starting and stopping the processes is load-runner.ts.
 *
 * The classic set-up loads the host meanwhile: hackbench, disk I/O, and `ping -f` from the
 * host into another guest. Here the flood only ever targets a lab guest's address
 * (lab-layout.ts), never anything else.
 */
import { LAB_EMU, LAB_PT, type GuestLayout } from '../lab/lab-layout.js';
import { GUEST_EXEC_PORT } from '../lab/qemu/guest-exec.js';

export const LOAD_KINDS = ['cpu', 'io', 'hackbench', 'hackbench-classic', 'flood'] as const;
export type LoadKind = (typeof LOAD_KINDS)[number];
/** host; pt / emu: a namespace of `lab up`; guest: the QEMU guest of `lab up --qemu` */
export const LOAD_PLACES = ['host', 'pt', 'emu', 'guest'] as const;
export type LoadWhere = (typeof LOAD_PLACES)[number];

export interface LoadSpec {
  kind: LoadKind;
  /**
   * cpu/io/hackbench: where the load runs (host, or inside that guest's namespace).
   * flood: the guest flooded; the ping itself always runs on the host, as in the classic set-up.
   */
  where: LoadWhere;
}

/** hackbench per pass, scaled to a 2-core machine: 4 groups × 40 = 160 tasks, ~10-30 s a pass. */
export const HACKBENCH_ARGS = ['-P', '-g', '4', '-l', '10000'] as const;
/** the classic `hackbench 150 process 1000` in rt-tests' syntax (it ignores positional arguments): 6000 tasks */
export const HACKBENCH_CLASSIC_ARGS = ['-P', '-g', '150', '-l', '1000'] as const;

/** Seconds a load keeps running past the run's own bound before it stops by itself (see loadTimeoutS). */
export const LOAD_TIMEOUT_MARGIN_S = 60;

/** The flooded guest when no guest is named (`--load flood`): the emulated path's device model is the shared user-space copy. */
export const DEFAULT_FLOOD_GUEST: 'pt' | 'emu' = 'emu';

const GUESTS: Record<'pt' | 'emu', GuestLayout> = { pt: LAB_PT, emu: LAB_EMU };

export function guestOf(where: 'pt' | 'emu'): GuestLayout {
  return GUESTS[where];
}

const isKind = (text: string): text is LoadKind => (LOAD_KINDS as readonly string[]).includes(text);
const isWhere = (text: string): text is LoadWhere => (LOAD_PLACES as readonly string[]).includes(text);

/**
 * `--load KIND[@WHERE]` (repeatable) and `--load-in WHERE` (the place of every --load without
 * its own @WHERE; default host). A flood "on the host" floods DEFAULT_FLOOD_GUEST.
 */
export function parseLoadFlags(loads: readonly string[] | undefined, loadIn: string | undefined): LoadSpec[] | Error {
  if (loadIn !== undefined && !isWhere(loadIn)) {
    return new Error(`--load-in: '${loadIn}' is not a place (${LOAD_PLACES.join(', ')})`);
  }
  if (loadIn !== undefined && (loads === undefined || loads.length === 0)) {
    return new Error('--load-in: give --load too (--load cpu|io|hackbench|hackbench-classic|flood)');
  }
  const specs: LoadSpec[] = [];
  for (const text of loads ?? []) {
    const at = text.indexOf('@');
    const kind = at < 0 ? text : text.slice(0, at);
    const place = at < 0 ? (loadIn ?? 'host') : text.slice(at + 1);
    if (!isKind(kind)) return new Error(`--load: '${kind}' is not a load (${LOAD_KINDS.join(', ')})`);
    if (!isWhere(place)) return new Error(`--load ${text}: '${place}' is not a place (${LOAD_PLACES.join(', ')})`);
    if (kind === 'flood' && place === 'guest') {
      return new Error(`--load ${text}: the flood runs on the host into a namespace guest (flood@pt or flood@emu), not in the QEMU guest`);
    }
    const where = kind === 'flood' && place === 'host' ? DEFAULT_FLOOD_GUEST : place;
    if (specs.some((s) => s.kind === kind && s.where === where)) {
      return new Error(`--load: ${describeLoad({ kind, where })} given twice`);
    }
    specs.push({ kind, where });
  }
  return specs;
}

/** "cpu on host", "io in rtp-pt", "flood into emu (10.254.21.2)". */
export function describeLoad(spec: LoadSpec): string {
  if (spec.kind === 'flood') {
    const guest = guestOf(spec.where === 'host' || spec.where === 'guest' ? DEFAULT_FLOOD_GUEST : spec.where);
    return `flood from the host into ${guest.role} (${guest.guestAddress})`;
  }
  if (spec.where === 'guest') return `${spec.kind} in the QEMU guest`;
  return spec.where === 'host' ? `${spec.kind} on the host` : `${spec.kind} in ${guestOf(spec.where).netns}`;
}

export interface Requirement {
  /** the program looked up on PATH */
  tool: string;
  /** the Debian package that has it */
  debian: string;
}

export interface LoadNeeds {
  tools: Requirement[];
  /** ping -f and ip netns exec need root */
  root: boolean;
  /** the lab guest that must be up, or null */
  lab: 'pt' | 'emu' | 'qemu' | null;
}

export function loadNeeds(spec: LoadSpec): LoadNeeds {
  // In the QEMU guest: busybox and hackbench are in its image; the host needs only the lab's token (root).
  if (spec.where === 'guest') return { tools: [], root: true, lab: 'qemu' };
  const tools: Requirement[] = [];
  if (spec.kind === 'cpu' || spec.kind === 'io') tools.push({ tool: 'stress-ng', debian: 'stress-ng' });
  if (spec.kind === 'hackbench' || spec.kind === 'hackbench-classic') tools.push({ tool: 'hackbench', debian: 'rt-tests' });
  if (spec.kind === 'flood') tools.push({ tool: 'ping', debian: 'iputils-ping' });
  const inGuest = spec.where !== 'host';
  if (inGuest && spec.kind !== 'flood') tools.push({ tool: 'ip', debian: 'iproute2' });
  return { tools, root: inGuest || spec.kind === 'flood', lab: spec.where === 'host' ? null : spec.where };
}

/** What the checks need to know about the machine; gathered by load-runner.ts, given by tests. */
export interface LoadFacts {
  isRoot: boolean;
  hasTool(tool: string): boolean;
  /** the lab's guests from its state file: null = the lab is down; Error = a damaged state file */
  labTargets: { role: string; address: string; netns: string }[] | Error | null;
  /** the lab namespaces that exist now */
  namespaces: readonly string[];
  /** the QEMU guest of `lab up --qemu`: null = not up; Error = a damaged state file */
  qemuGuest: QemuGuestAccess | Error | null;
}

/** How a load reaches the QEMU guest's exec service (guest-exec.ts). */
export interface QemuGuestAccess {
  address: string;
  tokenFile: string;
}

/** One Error naming everything to fix (missing Debian packages first), or null when every load can start. */
export function checkLoads(specs: readonly LoadSpec[], facts: LoadFacts): Error | null {
  const missing = new Map<string, string[]>();
  for (const spec of specs) {
    for (const need of loadNeeds(spec).tools) {
      if (facts.hasTool(need.tool)) continue;
      const tools = missing.get(need.debian) ?? [];
      if (!tools.includes(need.tool)) tools.push(need.tool);
      missing.set(need.debian, tools);
    }
  }
  if (missing.size > 0) {
    const what = [...missing].map(([debian, tools]) => `${tools.join(', ')} (Debian package ${debian})`).join(', ');
    return new Error(`--load: ${what} not found on PATH; install with: apt-get install ${[...missing.keys()].join(' ')}`);
  }
  for (const spec of specs) {
    const needs = loadNeeds(spec);
    if (needs.root && !facts.isRoot) {
      return new Error(`--load ${spec.kind}@${spec.where}: ${describeLoad(spec)} needs root ` +
        `(${spec.kind === 'flood' ? 'ping -f' : 'ip netns exec'}); run it with sudo`);
    }
    if (needs.lab === 'qemu') {
      if (facts.qemuGuest instanceof Error) return new Error(`--load ${spec.kind}@guest: the QEMU lab's state is damaged (${facts.qemuGuest.message}); run 'rtprobe lab down' and 'rtprobe lab up --qemu'`);
      if (facts.qemuGuest === null) return new Error(`--load ${spec.kind}@guest: ${describeLoad(spec)} needs the QEMU lab, and it is not up; run 'rtprobe lab up --qemu' first`);
      continue;
    }
    if (needs.lab === null) continue;
    const guest = guestOf(needs.lab);
    const labTargets = facts.labTargets;
    if (labTargets instanceof Error) return new Error(`--load ${spec.kind}@${spec.where}: the lab's state is damaged (${labTargets.message}); run 'rtprobe lab down' and 'rtprobe lab up'`);
    // The flood's address must be the lab's own guest, and that guest must be there now.
    const target = labTargets?.find((t) => t.role === guest.role);
    if (!target || !facts.namespaces.includes(guest.netns)) {
      return new Error(`--load ${spec.kind}@${spec.where}: ${describeLoad(spec)} needs the lab, and it is not up; run 'rtprobe lab up' first`);
    }
    if (target.address !== guest.guestAddress || target.netns !== guest.netns) {
      return new Error(`--load ${spec.kind}@${spec.where}: the lab's state names ${target.address} in ${target.netns}, not ${guest.guestAddress} in ${guest.netns}; refusing to load anything else than the lab`);
    }
  }
  return null;
}

/** The run's length bound, for the loads' own timeouts. */
export interface RunBound {
  rateHz: number;
  durationNs: number | null;
  count: number | null;
  lossAfterNs: number;
}

/**
 * Seconds after which a load stops by itself (stress-ng --timeout, ping -w): the run's sending
 * time plus its wait for late replies plus a margin. rtprobe stops the load when the run ends;
 * this bound only matters if rtprobe itself is killed (SIGKILL leaves no chance to clean up).
 */
export function loadTimeoutS(run: RunBound): number {
  const sendingS = run.count !== null ? run.count / run.rateHz : (run.durationNs ?? 0) / 1e9;
  return Math.ceil(sendingS + run.lossAfterNs / 1e9) + LOAD_TIMEOUT_MARGIN_S;
}

export interface LoadContext {
  timeoutS: number;
  /** io: the directory stress-ng writes in (made and removed by the runner) */
  tempDir: string | null;
  /** the hackbench loop runs while this PID (rtprobe) lives */
  guardPid: number;
  /** where=guest: the guest's exec service, and the command that runs rtprobe on the host */
  qemuGuest?: QemuGuestAccess & { rtprobe: readonly string[] };
}

export interface LoadCommand {
  argv: string[];
  /** flood: the guest address flooded; else null */
  target: string | null;
  /**
   * The first stop signal, to the whole process group (SIGKILL follows after the grace time).
   * ping takes SIGINT to print its statistics; SIGTERM would end it silently.
   */
  stopSignal: 'SIGTERM' | 'SIGINT';
}

export function needsTempDir(spec: LoadSpec): boolean {
  return spec.kind === 'io' && spec.where !== 'guest';
}

function hackbenchLoop(args: readonly string[], guardPid: number): string[] {
  // One pass ends after a while: loop while rtprobe lives; a failing pass ends the loop with its status.
  const script = `while kill -0 "$1" 2>/dev/null; do hackbench ${args.join(' ')} || exit $?; done`;
  return ['sh', '-c', script, 'rtprobe-load', String(guardPid)];
}

/**
 * A load in the QEMU guest, with what its image has: busybox and hackbench. cpu: a busy shell
 * loop per vCPU; io: 64 MiB written and fsync'ed in a loop (to the guest's RAM-backed /tmp:
 * the guest has no disk, so this is memory and page-cache work, not block I/O).
 */
function guestScript(kind: Exclude<LoadKind, 'flood'>): string {
  switch (kind) {
    case 'cpu':
      return 'i=0; while [ $i -lt $(nproc) ]; do (while :; do :; done) & i=$((i+1)); done; wait';
    case 'io':
      return 'while :; do dd if=/dev/zero of=/tmp/rtprobe-load bs=1M count=64 conv=fsync 2>/dev/null; rm -f /tmp/rtprobe-load; done';
    case 'hackbench':
      return `while :; do hackbench ${HACKBENCH_ARGS.join(' ')} || exit $?; done`;
    case 'hackbench-classic':
      return `while :; do hackbench ${HACKBENCH_CLASSIC_ARGS.join(' ')} || exit $?; done`;
  }
}

export function loadCommand(spec: LoadSpec, context: LoadContext): LoadCommand {
  const timeout = `${context.timeoutS}s`;
  if (spec.where === 'guest' && spec.kind !== 'flood') {
    const guest = context.qemuGuest;
    if (!guest) throw new Error('a load in the QEMU guest without its address');
    // The host side is one process the runner stops like any other; stopping it ends the
    // connection, and the guest's service then ends the load's whole process group.
    return {
      argv: [...guest.rtprobe, 'lab', 'guest-exec', '--to', `${guest.address}:${GUEST_EXEC_PORT}`, '--token-file', guest.tokenFile,
        '--', 'sh', '-c', guestScript(spec.kind)],
      target: null,
      stopSignal: 'SIGTERM',
    };
  }
  if (spec.kind === 'flood') {
    const guest = guestOf(spec.where === 'host' || spec.where === 'guest' ? DEFAULT_FLOOD_GUEST : spec.where);
    return {
      argv: ['ping', '-f', '-q', '-w', String(context.timeoutS), guest.guestAddress],
      target: guest.guestAddress,
      stopSignal: 'SIGINT',
    };
  }
  let argv: string[];
  switch (spec.kind) {
    case 'cpu':
      argv = ['stress-ng', '--cpu', '0', '--cpu-method', 'matrixprod', '--timeout', timeout];
      break;
    case 'io':
      if (context.tempDir === null) throw new Error('io load without a temp dir');
      argv = ['stress-ng', '--hdd', '1', '--hdd-bytes', '64M', '--temp-path', context.tempDir, '--timeout', timeout];
      break;
    case 'hackbench':
      argv = hackbenchLoop(HACKBENCH_ARGS, context.guardPid);
      break;
    case 'hackbench-classic':
      argv = hackbenchLoop(HACKBENCH_CLASSIC_ARGS, context.guardPid);
      break;
  }
  if (spec.where === 'pt' || spec.where === 'emu') argv = ['ip', 'netns', 'exec', guestOf(spec.where).netns, ...argv];
  return { argv, target: null, stopSignal: 'SIGTERM' };
}

/** An argv as one line a person can paste into a shell. */
export function shellLine(argv: readonly string[]): string {
  return argv.map((arg) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** What the report says about one load (JSON `compare.load[]`). */
export interface LoadRecord {
  kind: LoadKind;
  /** where it ran; for flood the guest flooded (the ping runs on the host) */
  where: LoadWhere;
  /** flood: the address flooded */
  target: string | null;
  /** the command line as started */
  command: string[];
  pid: number;
  /** ISO times: started before the first probe, stopped when the process group was gone */
  started: string;
  stopped: string;
  /** how it ended: exit code or signal (a load stopped by rtprobe ends by its stop signal or with its own code) */
  exit: { code: number | null; signal: string | null };
  /** the signals rtprobe sent to stop it ([] when it ended by itself) */
  stop_signals: string[];
  /** true when it ended by itself before the run was over: the run had less load than asked from then on */
  died: boolean;
  /** its last lines of output (stdout and stderr) */
  output: string[];
}

function formatExit(exit: LoadRecord['exit']): string {
  if (exit.signal !== null) return `signal ${exit.signal}`;
  return exit.code === null ? 'unknown status' : `exit ${exit.code}`;
}

/** One text line per load, for the compare report. */
export function formatLoadLine(record: LoadRecord): string {
  const seconds = (Date.parse(record.stopped) - Date.parse(record.started)) / 1000;
  const head = `  load     ${describeLoad(record)} for ${seconds.toFixed(1)} s: ${shellLine(record.command)}`;
  if (record.died) {
    const last = record.output.at(-1);
    return `${head}; DIED during the run (${formatExit(record.exit)})${last ? `: ${last}` : ''}`;
  }
  // ping's summary says how much flood there was
  const flood = record.kind === 'flood' ? record.output.find((line) => / packets transmitted, /.test(line)) : undefined;
  return `${head}; stopped by ${record.stop_signals.join(' then ')} (${formatExit(record.exit)})${flood ? `; ${flood}` : ''}`;
}
