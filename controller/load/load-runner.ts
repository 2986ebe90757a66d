/**
 * Runs the load scenarios of `rtprobe compare --load` (load-spec.ts says what each is): started
 * before the first probe, each in its own process group, and stopped when the run ends — the
 * whole group, SIGTERM (ping: SIGINT) then SIGKILL after 2 s — also on Ctrl-C, on errors and
 * on process exit. A load that ends by itself during the run is reported, not fatal.
 *
 * Stopping is synchronous on purpose: the report is decorated (and written) synchronously
 * right after the run, and it must say how the load ended. Until the event loop turns, the
 * group leader stays a zombie whose wait status /proc/PID/stat still holds.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, fstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync } from 'node:fs';
import { constants as osConstants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LAB_NAMESPACES, LAB_STATE_DIR } from '../lab/lab-layout.js';
import { readLabState } from '../lab/lab-state.js';
import { readQemuLabState } from '../lab/qemu/qemu-lab-state.js';
import { RTPROBE_CLI } from '../../shared/cli/build-info.js';
import { findLabNetwork, findOnPath } from '../lab/lab-system.js';
import {
  checkLoads, describeLoad, loadCommand, loadNeeds, needsTempDir, shellLine,
  type LoadCommand, type LoadFacts, type LoadRecord, type LoadSpec, type QemuGuestAccess,
} from './load-spec.js';

/** SIGTERM (or ping's SIGINT) gets this long before SIGKILL. */
export const STOP_GRACE_MS = 2000;
/** Loads run this long before the first probe, so the run starts loaded. */
export const LOAD_SETTLE_MS = 500;
const OUTPUT_LINES = 20;
const OUTPUT_TAIL_BYTES = 4096;

/** The last lines of a load's log file (its stdout and stderr). */
export function logTailLines(path: string, lines = OUTPUT_LINES): string[] {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return [];
  }
  try {
    const start = Math.max(0, fstatSync(fd).size - OUTPUT_TAIL_BYTES);
    const buffer = Buffer.alloc(OUTPUT_TAIL_BYTES);
    const read = readSync(fd, buffer, 0, OUTPUT_TAIL_BYTES, start);
    const text = buffer.subarray(0, read).toString('utf8').split('\n');
    if (start > 0) text.shift(); // a cut first line
    return text.map((line) => line.trimEnd()).filter((line) => line !== '').slice(-lines);
  } finally {
    closeSync(fd);
  }
}

/** True when `tool` is an executable file in a PATH directory. */
export function onPath(tool: string, path = process.env.PATH ?? ''): boolean {
  return findOnPath(tool, path) !== null;
}

function gatherFacts(specs: readonly LoadSpec[]): LoadFacts {
  const needsLab = specs.some((spec) => loadNeeds(spec).lab !== null);
  const state = needsLab ? readLabState(LAB_STATE_DIR) : null;
  return {
    isRoot: process.getuid?.() === 0,
    hasTool: (tool) => onPath(tool),
    labTargets: state === null || state instanceof Error ? state : state.targets,
    // `ip` only when a guest is named: a host load needs neither the lab nor iproute2.
    namespaces: needsLab && onPath('ip') ? findLabNetwork().namespaces.filter((n) => LAB_NAMESPACES.includes(n)) : [],
    qemuGuest: specs.some((spec) => spec.where === 'guest') ? qemuGuestAccess() : null,
  };
}

/** The QEMU guest's first NIC and the lab token, from qemu.json. */
function qemuGuestAccess(): QemuGuestAccess | Error | null {
  const state = readQemuLabState(LAB_STATE_DIR);
  if (state === null || state instanceof Error) return state;
  const first = state.targets[0];
  return first ? { address: first.address, tokenFile: state.token_file } : new Error('it names no NIC');
}

/** Fields of /proc/PID/stat after the command name: [0] = state (field 3), [2] = pgrp (5), [49] = exit_code (52). */
function statFields(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** Live (non-zombie) processes of a process group, from /proc. */
export function groupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const fields = statFields(pid);
    if (fields && Number(fields[2]) === pgid && fields[0] !== 'Z') members.push(pid);
  }
  return members;
}

const SIGNAL_NAMES = new Map(Object.entries(osConstants.signals).map(([name, number]) => [number, name]));

/** A waitpid status as { code, signal }. */
export function decodeWaitStatus(status: number): { code: number | null; signal: string | null } {
  const signal = status & 0x7f;
  if (signal === 0) return { code: (status >> 8) & 0xff, signal: null };
  return { code: null, signal: SIGNAL_NAMES.get(signal) ?? String(signal) };
}

/** The exit status of a zombie not reaped yet (Linux ≥ 3.5), or null. */
function zombieStatus(pid: number): { code: number | null; signal: string | null } | null {
  const fields = statFields(pid);
  if (!fields || fields[0] !== 'Z' || fields[49] === undefined) return null;
  return decodeWaitStatus(Number(fields[49]));
}

const pause = new Int32Array(new SharedArrayBuffer(4));
function sleepSync(ms: number): void {
  Atomics.wait(pause, 0, 0, ms);
}

function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false; // the group is gone
  }
}

interface RunningLoad {
  spec: LoadSpec;
  command: LoadCommand;
  child: ChildProcess;
  pid: number;
  /** its stdout and stderr: a file, so the last words of a load stopped synchronously can still be read */
  log: string;
  started: Date;
  /** set when it ended (by itself, or once stopped) */
  exit: { code: number | null; signal: string | null } | null;
  ended: Date | null;
  stopping: boolean;
  stopSignals: string[];
  record: LoadRecord | null;
  closed: Promise<void>;
}

export interface LoadIo {
  /** a warning line for stderr (a load ended by itself, stopped by a signal) */
  log(line: string): void;
  /** a status line (what started), silent under --quiet */
  status(line: string): void;
}

export class LoadSession {
  private readonly loads: RunningLoad[] = [];
  /** the loads' logs and the io load's work directory; removed when the session closes */
  private dir: string | null = null;
  private readonly onExit = (): void => this.killNow();
  private readonly onSignal = (signal: NodeJS.Signals): void => {
    // While another listener (the run's own: stop sending, report) takes this signal, leave it
    // to that one; alone (before or after the run, or a second Ctrl-C), stop the loads and go.
    if (process.listenerCount(signal) > 1) return;
    this.io.log(`${signal}: stopping the load and exiting`);
    this.stopSync();
    this.removeDir();
    process.exit(128 + (osConstants.signals[signal] ?? 0));
  };

  /** where=guest loads: how to reach the QEMU guest (checked by checkLoads) */
  private qemuGuest: QemuGuestAccess | null = null;

  private constructor(private readonly io: LoadIo) {}

  /**
   * Checks every load can start (tools, root, the lab), then starts them and waits
   * LOAD_SETTLE_MS. An Error (nothing left running) when a check fails or a load ends at once.
   */
  static async start(specs: readonly LoadSpec[], timeoutS: number, io: LoadIo): Promise<LoadSession | Error> {
    const facts = gatherFacts(specs);
    const problem = checkLoads(specs, facts);
    if (problem) return problem;
    const session = new LoadSession(io);
    if (facts.qemuGuest !== null && !(facts.qemuGuest instanceof Error)) session.qemuGuest = facts.qemuGuest;
    session.guard(true);
    try {
      for (const spec of specs) {
        const started = session.spawnLoad(spec, timeoutS);
        if (started instanceof Error) throw started;
      }
      const deadline = Date.now() + LOAD_SETTLE_MS;
      while (Date.now() < deadline && session.loads.every((load) => load.exit === null)) await sleep(20);
      const dead = session.loads.find((load) => load.exit !== null);
      if (dead) {
        const status = dead.exit?.signal ? `signal ${dead.exit.signal}` : `exit ${dead.exit?.code}`;
        const output = logTailLines(dead.log, 5);
        throw new Error(`load ${describeLoad(dead.spec)} ended at once (${status}): ${shellLine(dead.command.argv)}` +
          (output.length > 0 ? `\n${output.join('\n')}` : ''));
      }
    } catch (error) {
      await session.close();
      return error as Error;
    }
    return session;
  }

  private guard(on: boolean): void {
    const method = on ? 'on' : 'off';
    process[method]('exit', this.onExit);
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process[method](signal, this.onSignal);
  }

  private spawnLoad(spec: LoadSpec, timeoutS: number): Error | null {
    this.dir ??= mkdtempSync(join(tmpdir(), 'rtprobe-load-'));
    const name = `${this.loads.length + 1}-${spec.kind}-${spec.where}`;
    const tempDir = needsTempDir(spec) ? join(this.dir, name) : null;
    if (tempDir !== null) mkdirSync(tempDir);
    const command = loadCommand(spec, {
      timeoutS, tempDir, guardPid: process.pid,
      ...(this.qemuGuest ? { qemuGuest: { ...this.qemuGuest, rtprobe: [process.execPath, RTPROBE_CLI] } } : {}),
    });
    const [program, ...args] = command.argv;
    if (program === undefined) throw new Error('empty load command');
    const log = join(this.dir, `${name}.log`);
    const fd = openSync(log, 'a', 0o600);
    let child: ChildProcess;
    try {
      // detached: its own session and process group, so the whole group can be signalled, and
      // a Ctrl-C on the terminal reaches rtprobe only (the run reports, then stops the load).
      child = spawn(program, args, { detached: true, stdio: ['ignore', fd, fd] });
    } finally {
      closeSync(fd);
    }
    const load: RunningLoad = {
      spec, command, child, pid: child.pid ?? 0, log, started: new Date(), exit: null, ended: null,
      stopping: false, stopSignals: [], record: null, closed: Promise.resolve(),
    };
    this.loads.push(load);
    child.on('error', () => { /* a spawn failure shows as the missing pid below */ });
    if (child.pid === undefined) {
      // ENOENT and the like: 'error' follows; the checks should have caught it
      load.exit = { code: null, signal: null };
      load.ended = new Date();
      return new Error(`cannot start load ${describeLoad(spec)}: ${shellLine(command.argv)}`);
    }
    load.closed = new Promise((resolve) => child.on('close', () => resolve()));
    child.on('exit', (code, signal) => {
      if (load.exit === null) {
        load.exit = { code, signal };
        load.ended = new Date();
      }
      if (!load.stopping) {
        const last = logTailLines(log, 1)[0];
        this.io.log(`load ${describeLoad(spec)} (pid ${load.pid}) ended by itself (${signal ? `signal ${signal}` : `exit ${code}`})` +
          (last ? `: ${last}` : ''));
      }
    });
    this.io.status(`load ${describeLoad(spec)}: pid ${load.pid}: ${shellLine(command.argv)}`);
    return null;
  }

  /**
   * Stops every load still running (idempotent) and returns the records. Synchronous: blocks
   * for at most twice STOP_GRACE_MS.
   */
  stopSync(): LoadRecord[] {
    const running = this.loads.filter((load) => load.record === null && load.pid > 0);
    for (const load of running) {
      load.stopping = true;
      // A load that died by itself can leave children in its group (hackbench's workers): they go too.
      if (signalGroup(load.pid, load.command.stopSignal) && load.exit === null) load.stopSignals.push(load.command.stopSignal);
    }
    const waitGone = (until: number): void => {
      while (running.some((load) => groupMembers(load.pid).length > 0) && Date.now() < until) sleepSync(20);
    };
    waitGone(Date.now() + STOP_GRACE_MS);
    for (const load of running.filter((l) => groupMembers(l.pid).length > 0)) {
      if (signalGroup(load.pid, 'SIGKILL') && load.exit === null) load.stopSignals.push('SIGKILL');
    }
    waitGone(Date.now() + STOP_GRACE_MS);
    const now = new Date();
    for (const load of running) {
      const died = load.exit !== null && load.stopSignals.length === 0;
      const exit = load.exit ?? zombieStatus(load.pid) ?? { code: null, signal: null };
      load.record = {
        kind: load.spec.kind,
        where: load.spec.where,
        target: load.command.target,
        command: load.command.argv,
        pid: load.pid,
        started: load.started.toISOString(),
        stopped: (load.ended ?? now).toISOString(),
        exit,
        stop_signals: died ? [] : load.stopSignals,
        died,
        output: logTailLines(load.log),
      };
      const left = groupMembers(load.pid);
      if (left.length > 0) this.io.log(`load ${describeLoad(load.spec)}: pids ${left.join(' ')} still there after SIGKILL`);
    }
    return this.loads.flatMap((load) => (load.record ? [load.record] : []));
  }

  /** SIGKILL to every group still running, at process exit (nothing async can run then). */
  private killNow(): void {
    for (const load of this.loads) {
      if (load.record === null && load.pid > 0) signalGroup(load.pid, 'SIGKILL');
    }
    this.removeDir();
  }

  private removeDir(): void {
    if (this.dir !== null) rmSync(this.dir, { recursive: true, force: true });
  }

  /** Stops what still runs, reaps, removes the temp dirs and the exit/signal guards. */
  async close(): Promise<void> {
    this.stopSync();
    // unref'd: once every load is reaped, this timer must not hold rtprobe's exit back
    await Promise.race([Promise.all(this.loads.map((load) => load.closed)), sleep(STOP_GRACE_MS, undefined, { ref: false })]);
    this.removeDir();
    this.guard(false);
  }
}
