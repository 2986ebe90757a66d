/**
 * CPU per probe at 100 Hz, start-up excluded (issue 15): utime+stime from /proc of the running
 * processes over a window after a warm-up, for rtprobe's controller and agent (loopback, kernel
 * stamps), for `fping -p 10`, the single-threaded C reference, and for irtt's client and
 * server, the two-process UDP peer, in alternating rounds. fping runs *beside* each UDP run of
 * rtprobe, over the same window: this VM's CPU per probe drifts by ±40 % from one minute to
 * the next (host load, steal), more than the difference judged, so the goal is judged on the
 * ratio of each pair, which both sides measured in the same seconds (their median over
 * rounds); the two use ~1 % of a CPU each and share no socket. A process's CPU a probe also
 * depends on when in the period it wakes relative to the others (a vCPU woken soon after other
 * work is warm), so fping and the C loop are started afresh for each 10 s part of a window,
 * each time at another phase of rtprobe's, and the median is over all those parts. On loopback fping's echo is answered
 * by the kernel inside fping's own send (one wake-up a probe, the reply already queued);
 * rtprobe and irtt wait for another process to answer (two). So the controller is also
 * measured on fping's own path: ICMP echo to 127.0.0.1, answered by the kernel.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeProbe } from '../../shared/wire/probe-codec.js';
import { OFFSET_SEQ } from '../../shared/wire/probe-layout.js';
import { threadMinorFaults, threadsCpuS } from './child-cpu.js';
import { findExecutable } from './find-exe.js';
import { formatTable } from './format-table.js';
import { CLI } from './rtprobe-runner.js';
import { median, quartiles } from './stats.js';

export interface CpuPerProbeResult {
  windowS: number;
  warmUpS: number;
  rounds: number;
  /** µs of CPU per probe, mean over rounds; null where not measured */
  controllerUs: number | null;
  /** of it, the native I/O thread (rtprobe-send): the single-threaded loop to set beside fping's */
  controllerIoThreadUs: number | null;
  /** of it, the JavaScript thread (the process's main thread); the rest is V8's compiler and GC threads */
  controllerJsThreadUs: number | null;
  /** the JavaScript thread's minor page faults a probe: about one per 4 KiB its per-probe path allocates (V8 takes fresh pages for its young generation) */
  controllerJsThreadFaults: number | null;
  /** udp-floor.c beside the default controller: its I/O thread's system calls in a bare C loop, to its own agent */
  floorUs: number | null;
  /** the I/O thread over that C loop in the same window, median over rounds: what of the thread is rtprobe's, not the kernel's */
  ioThreadVsFloor: number | null;
  /** the controller with --spin auto (the default only with --cpu): what the busy-wait that buys send accuracy costs */
  controllerSpinAutoUs: number | null;
  /** the controller on fping's path (icmp://127.0.0.1, the kernel answers): the like-for-like row */
  controllerIcmpUs: number | null;
  controllerIcmpIoThreadUs: number | null;
  agentUs: number | null;
  /** of it, the native reflector thread (rtprobe-reflect) */
  agentIoThreadUs: number | null;
  agentJsThreadUs: number | null;
  /** fping, measured beside rtprobe's UDP runs (the same windows) */
  fpingUs: number | null;
  /** parts of the windows with fping beside the default controller (partsOfWindow × rounds): the ratios' count */
  pairedParts: number;
  /** the controller's (default flags) CPU per probe over fping's in the same part of a window, median over parts */
  controllerVsFping: number | null;
  /** the --spin auto controller's likewise: rows measured in different minutes compare only through fping */
  controllerSpinAutoVsFping: number | null;
  /** the agent's likewise */
  agentVsFping: number | null;
  /** the quartiles of the controller's and the agent's ratios over the parts: how far from 1 the median is, against how much a part's ratio moves */
  controllerVsFpingQuartiles: [number, number] | null;
  agentVsFpingQuartiles: [number, number] | null;
  irttClientUs: number | null;
  irttServerUs: number | null;
}

const RATE_HZ = 100;

/**
 * A process, only its threads of one name (the native I/O thread), or only its main thread
 * (Node's JavaScript): CPU seconds; or the main thread's minor page faults (a count).
 */
type CpuSource = number | { pid: number; thread: string } | { pid: number; mainThread: true } | { pid: number; mainThreadFaults: true };
const cpuOf = (source: CpuSource): number | undefined => {
  if (typeof source === 'number') return threadsCpuS(source);
  const { pid } = source;
  if ('mainThreadFaults' in source) return threadMinorFaults(pid, pid);
  return 'thread' in source ? threadsCpuS(pid, (_, comm) => comm === source.thread) : threadsCpuS(pid, (tid) => tid === pid);
};

/** CPU seconds each source uses between warmUpS and warmUpS + windowS after now. */
async function cpuOverWindow(sources: CpuSource[], warmUpS: number, windowS: number): Promise<number[]> {
  await sleep(warmUpS * 1000);
  const before = sources.map((source) => cpuOf(source) ?? Number.NaN);
  await sleep(windowS * 1000);
  return sources.map((source, i) => (cpuOf(source) ?? Number.NaN) - (before[i] ?? Number.NaN));
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) { resolve(); return; }
    child.once('close', () => resolve());
    child.kill('SIGTERM');
  });
}

interface RtprobeCpu { controller: number; controllerIoThread: number; controllerJsThread: number; controllerJsThreadFaults: number; agent: number; agentIoThread: number; agentJsThread: number }

const perProbeUs = (cpuS: number, windowS: number): number => (cpuS / (RATE_HZ * windowS)) * 1e6;

/** `rtprobe run` on one target at RATE_HZ, kernel stamps, quiet, running past the window. */
function spawnController(target: string, warmUpS: number, windowS: number, extraArgs: string[] = []): ChildProcess {
  return spawn(process.execPath, [CLI, 'run', '--target', target, '--rate', String(RATE_HZ),
    '--duration', `${warmUpS + windowS + 2}s`, '--timestamps', 'kernel', '--quiet', ...extraArgs], { stdio: 'ignore' });
}

/** The controller alone on fping's path: ICMP echo to 127.0.0.1, which the kernel answers (needs root or ping_group_range). */
async function measureRtprobeIcmp(warmUpS: number, windowS: number): Promise<{ controller: number; controllerIoThread: number }> {
  const controller = spawnController('icmp://127.0.0.1', warmUpS, windowS);
  const pid = controller.pid ?? 0;
  const [c = Number.NaN, cIo = Number.NaN] = await cpuOverWindow([pid, { pid, thread: 'rtprobe-send' }], warmUpS, windowS);
  await stop(controller);
  return { controller: perProbeUs(c, windowS), controllerIoThread: perProbeUs(cIo, windowS) };
}

/** fping -p 10 to 127.0.0.1, running past the window. */
function spawnFping(fping: string, warmUpS: number, windowS: number): ChildProcess {
  const count = RATE_HZ * (warmUpS + windowS + 2);
  return spawn(fping, ['-D', '-q', '-p', String(1000 / RATE_HZ), '-c', String(count), '127.0.0.1'], { stdio: 'ignore' });
}

/** An rtprobe agent on 127.0.0.1 (kernel stamps) and the port it listens on. */
async function spawnAgent(): Promise<{ agent: ChildProcess; port: string }> {
  const agent = spawn(process.execPath, [CLI, 'agent', '--listen', '127.0.0.1:0', '--timestamps', 'kernel'], { stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    const port = await new Promise<string>((resolve, reject) => {
      agent.stdout?.on('data', (chunk: Buffer) => { const m = /^listening udp [\d.]+:(\d+)/m.exec(String(chunk)); if (m?.[1]) resolve(m[1]); });
      agent.once('close', () => reject(new Error('the agent ended before it listened')));
    });
    return { agent, port };
  } catch (error) {
    await stop(agent);
    throw error;
  }
}

/** udp-floor.c compiled for this machine (cc, which the native addon's build needs too) into a folder of its own, or undefined without a compiler. */
export function compileFloorLoop(): string | undefined {
  const source = fileURLToPath(new URL('udp-floor.c', import.meta.url));
  const binary = join(mkdtempSync(join(tmpdir(), 'rtprobe-bench-floor-')), 'udp-floor');
  if (spawnSync('cc', ['-O2', '-o', binary, source], { stdio: 'ignore' }).status === 0) return binary;
  rmSync(dirname(binary), { recursive: true, force: true });
  return undefined;
}

/** The C loop to its own agent, running past the window, its slots offsetUs into each 10 ms: a probe of session 0xf100 with 64 bytes. */
function spawnFloor(floor: string, port: string, warmUpS: number, windowS: number, offsetUs: number): ChildProcess {
  const probe = encodeProbe(0xf100, 0n, 0n, 64).toString('hex');
  return spawn(floor, [port, probe, String(OFFSET_SEQ), String(warmUpS + windowS + 2), String(offsetUs)], { stdio: 'ignore' });
}

interface Beside { fping: string | undefined; floor: string | undefined }

/** Seconds fping and the C loop run before a part of the window is measured: their start-up left out. */
const SETTLE_S = 1;

/**
 * How many parts a window is cut into, fping and the C loop started afresh for each: each
 * start lands at another phase of rtprobe's period, and on a VM a process's CPU a probe
 * depends on when in the period it wakes relative to the others (two copies of udp-floor.c
 * differed 1.13–1.63× by which woke shortly after the other). A part of 10 s or more.
 */
export function partsOfWindow(windowS: number): number {
  return Math.max(1, Math.floor(windowS / 10));
}

type RtprobePart = RtprobeCpu & { fping: number | null; floor: number | null };

/**
 * The controller and agent on UDP loopback, warmed up once, then measured in parts of the
 * window (partsOfWindow), with fping and the C floor loop (with its own agent, at a random
 * offset in the period) started beside them for each part when given.
 */
async function measureRtprobe(warmUpS: number, windowS: number, controllerArgs: string[], beside: Beside): Promise<RtprobePart[]> {
  const { agent, port } = await spawnAgent();
  const floorAgent = beside.floor ? await spawnAgent() : null;
  const parts = partsOfWindow(windowS);
  const partS = windowS / parts;
  const controller = spawnController(`127.0.0.1:${port}`, warmUpS, windowS + parts * (SETTLE_S + 1), controllerArgs);
  try {
    const controllerPid = controller.pid ?? 0;
    const agentPid = agent.pid ?? 0;
    await sleep(warmUpS * 1000);
    const out: RtprobePart[] = [];
    for (let part = 0; part < parts; part++) {
      const fping = beside.fping ? spawnFping(beside.fping, SETTLE_S, partS) : null;
      const floor = beside.floor && floorAgent ? spawnFloor(beside.floor, floorAgent.port, SETTLE_S, partS, Math.floor(Math.random() * 10_000)) : null;
      const [c = Number.NaN, cIo = Number.NaN, cJs = Number.NaN, a = Number.NaN, aIo = Number.NaN, aJs = Number.NaN, f = Number.NaN, fl = Number.NaN,
        cJsFaults = Number.NaN] = await cpuOverWindow(
        [controllerPid, { pid: controllerPid, thread: 'rtprobe-send' }, { pid: controllerPid, mainThread: true },
          agentPid, { pid: agentPid, thread: 'rtprobe-reflect' }, { pid: agentPid, mainThread: true }, fping?.pid ?? 0, floor?.pid ?? 0,
          { pid: controllerPid, mainThreadFaults: true }],
        SETTLE_S, partS);
      await Promise.all([fping, floor].map((child) => (child ? stop(child) : undefined)));
      out.push({ controller: perProbeUs(c, partS), controllerIoThread: perProbeUs(cIo, partS), controllerJsThread: perProbeUs(cJs, partS),
        controllerJsThreadFaults: cJsFaults / (RATE_HZ * partS),
        agent: perProbeUs(a, partS), agentIoThread: perProbeUs(aIo, partS), agentJsThread: perProbeUs(aJs, partS),
        fping: fping ? perProbeUs(f, partS) : null, floor: floor ? perProbeUs(fl, partS) : null });
    }
    return out;
  } finally {
    await Promise.all([stop(controller), stop(agent), floorAgent ? stop(floorAgent.agent) : undefined]);
  }
}

async function measureIrtt(irtt: string, warmUpS: number, windowS: number): Promise<{ client: number; server: number }> {
  const port = 17000 + Math.floor(Math.random() * 1000);
  const server = spawn(irtt, ['server', '-b', `127.0.0.1:${port}`], { stdio: 'ignore' });
  try {
    await sleep(500); // irtt prints nothing when ready; it binds at once
    const client = spawn(irtt, ['client', '-i', `${1000 / RATE_HZ}ms`, '-d', `${warmUpS + windowS + 2}s`, '-Q', `127.0.0.1:${port}`], { stdio: 'ignore' });
    const [c = Number.NaN, s = Number.NaN] = await cpuOverWindow([client.pid ?? 0, server.pid ?? 0], warmUpS, windowS);
    await stop(client);
    return { client: perProbeUs(c, windowS), server: perProbeUs(s, windowS) };
  } finally {
    await stop(server);
  }
}

const mean = (values: number[]): number | null => (values.length === 0 ? null : values.reduce((s, v) => s + v, 0) / values.length);
/** The median of the finite ones (a window fping spent no CPU in gives no ratio). */
const medianOrNull = (values: number[]): number | null => median(values) ?? null;

/** warmUpS: start-up excluded, including the JIT's optimisations (at 100 Hz V8 still compiles the per-probe path 30-50 s in, hardly from ~90 s). */
export async function measureCpuPerProbe(rounds: number, windowS: number, warmUpS = 10): Promise<CpuPerProbeResult> {
  const fping = findExecutable('fping');
  const floor = compileFloorLoop();
  const irtt = findExecutable('irtt');
  const irttClient: number[] = [];
  const irttServer: number[] = [];
  const controller: number[] = [];
  const controllerIoThread: number[] = [];
  const controllerJsThread: number[] = [];
  const controllerJsThreadFaults: number[] = [];
  const controllerSpinAuto: number[] = [];
  const agent: number[] = [];
  const agentIoThread: number[] = [];
  const agentJsThread: number[] = [];
  const fpingUs: number[] = [];
  const controllerVsFping: number[] = [];
  const controllerSpinAutoVsFping: number[] = [];
  const agentVsFping: number[] = [];
  const floorUs: number[] = [];
  const ioThreadVsFloor: number[] = [];
  const record = (parts: RtprobePart[], controllerRow: number[]): void => parts.forEach((r) => recordPart(r, controllerRow));
  const recordPart = (r: RtprobePart, controllerRow: number[]): void => {
    controllerRow.push(r.controller);
    if (r.floor !== null && controllerRow === controller) {
      floorUs.push(r.floor);
      ioThreadVsFloor.push(r.controllerIoThread / r.floor);
    }
    if (r.fping !== null) {
      fpingUs.push(r.fping);
      if (controllerRow === controller) {
        controllerVsFping.push(r.controller / r.fping);
        agentVsFping.push(r.agent / r.fping);
      } else {
        controllerSpinAutoVsFping.push(r.controller / r.fping);
      }
    }
    if (controllerRow === controller) {
      controllerIoThread.push(r.controllerIoThread);
      controllerJsThread.push(r.controllerJsThread);
      controllerJsThreadFaults.push(r.controllerJsThreadFaults);
    }
    agent.push(r.agent);
    agentIoThread.push(r.agentIoThread);
    agentJsThread.push(r.agentJsThread);
  };
  const controllerIcmp: number[] = [];
  const controllerIcmpIoThread: number[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      // alternate who goes first, so neither always meets the machine warm
      const steps = [async () => record(await measureRtprobe(warmUpS, windowS, [], { fping, floor }), controller),
        async () => record(await measureRtprobe(warmUpS, windowS, ['--spin', 'auto'], { fping, floor: undefined }), controllerSpinAuto),
        async () => { const r = await measureRtprobeIcmp(warmUpS, windowS); controllerIcmp.push(r.controller); controllerIcmpIoThread.push(r.controllerIoThread); },
        async () => { if (irtt) { const r = await measureIrtt(irtt, warmUpS, windowS); irttClient.push(r.client); irttServer.push(r.server); } }];
      for (const step of round % 2 === 0 ? steps : [...steps].reverse()) await step();
    }
  } finally {
    if (floor) rmSync(dirname(floor), { recursive: true, force: true });
  }
  return { windowS, warmUpS, rounds, pairedParts: controllerVsFping.length, controllerUs: mean(controller), controllerIoThreadUs: mean(controllerIoThread),
    controllerJsThreadUs: mean(controllerJsThread), controllerJsThreadFaults: mean(controllerJsThreadFaults), controllerSpinAutoUs: mean(controllerSpinAuto),
    controllerIcmpUs: mean(controllerIcmp), controllerIcmpIoThreadUs: mean(controllerIcmpIoThread),
    agentUs: mean(agent), agentIoThreadUs: mean(agentIoThread), agentJsThreadUs: mean(agentJsThread), fpingUs: mean(fpingUs),
    controllerVsFping: medianOrNull(controllerVsFping), controllerSpinAutoVsFping: medianOrNull(controllerSpinAutoVsFping),
    agentVsFping: medianOrNull(agentVsFping), controllerVsFpingQuartiles: quartiles(controllerVsFping) ?? null,
    agentVsFpingQuartiles: quartiles(agentVsFping) ?? null, floorUs: mean(floorUs), ioThreadVsFloor: medianOrNull(ioThreadVsFloor),
    irttClientUs: mean(irttClient), irttServerUs: mean(irttServer) };
}

/**
 * Issue 15 item 3: the controller and the agent each at most fping's CPU per probe, judged on the
 * pairs measured in the same windows (pure). With the ratios' quartiles it says whether the
 * middle half of the parts is on one side of 1: on this VM one bench's median moved 0.99–1.24×
 * from one run to the next, so a median near 1 alone settles nothing.
 */
export function cpuGoalLine(r: Pick<CpuPerProbeResult, 'controllerVsFping' | 'agentVsFping' | 'controllerVsFpingQuartiles' | 'agentVsFpingQuartiles'>): string {
  const verdict = (name: string, x: number | null, q: [number, number] | null): string => {
    if (x === null || !Number.isFinite(x)) return `${name} not judged (not measured)`;
    const spread = q ? `; middle half of the parts ${q[0].toFixed(2)}–${q[1].toFixed(2)}×${q[0] <= 1 && q[1] > 1 ? ', not clear of 1' : ''}` : '';
    return `${name} ${x <= 1 ? 'met' : 'MISSED'} (${x.toFixed(2)}×${spread})`;
  };
  return `  goal (issue 15 item 3), each at most fping's CPU per probe, fping beside it in the same seconds (median of the parts' ratios): ` +
    `${verdict('controller', r.controllerVsFping, r.controllerVsFpingQuartiles)}, ${verdict('agent', r.agentVsFping, r.agentVsFpingQuartiles)}`;
}

/** The controller's I/O thread against the C loop that makes its system calls, in the same windows (pure). */
export function floorLine(r: Pick<CpuPerProbeResult, 'ioThreadVsFloor'>): string {
  const x = r.ioThreadVsFloor;
  return x === null || !Number.isFinite(x) ? '  I/O thread ÷ its floor: not measured (no C compiler)'
    : `  I/O thread ÷ its floor (the same system calls in C, the same seconds, median of the parts' ratios): ${x.toFixed(2)}×`;
}

/** The controller's JavaScript thread's minor page faults a probe (pure). */
export function jsFaultsLine(r: Pick<CpuPerProbeResult, 'controllerJsThreadFaults'>): string {
  const x = r.controllerJsThreadFaults;
  return x === null || !Number.isFinite(x) ? "  the controller's JavaScript thread's minor page faults: not measured"
    : `  the controller's JavaScript thread's minor page faults: ${x.toFixed(2)} a probe (about one per 4 KiB its per-probe path allocates: V8 takes fresh pages for its young generation)`;
}

/** What the process used beyond the threads measured on their own: V8's compiler and GC threads, libuv's. */
const restOf = (whole: number | null, ...parts: (number | null)[]): number | null =>
  whole === null || parts.some((p) => p === null) ? null : parts.reduce<number>((rest, p) => rest - (p ?? 0), whole);

export function renderCpuPerProbe(r: CpuPerProbeResult): string {
  const us = (v: number | null): string => (v === null ? '—' : v.toFixed(0));
  const ratio = (v: number | null): string => (v === null || r.fpingUs === null ? '—' : (v / r.fpingUs).toFixed(1));
  // a row with fping beside it: the median of its pairs (the same minutes), as the goal line judges
  const paired = (x: number | null, v: number | null): string => (x !== null && Number.isFinite(x) ? `${x.toFixed(2)} paired` : ratio(v));
  return formatTable(['process (100 Hz, loopback)', 'CPU µs/probe', '× fping'], [
    ['rtprobe run (controller, kernel stamps)', us(r.controllerUs), paired(r.controllerVsFping, r.controllerUs)],
    ['  of it, its I/O thread (rtprobe-send)', us(r.controllerIoThreadUs), ratio(r.controllerIoThreadUs)],
    ['  of it, its JavaScript thread', us(r.controllerJsThreadUs), ratio(r.controllerJsThreadUs)],
    ["  of it, V8's compiler and GC threads (the rest)", us(restOf(r.controllerUs, r.controllerIoThreadUs, r.controllerJsThreadUs)),
      ratio(restOf(r.controllerUs, r.controllerIoThreadUs, r.controllerJsThreadUs))],
    ["  the floor: its I/O thread's system calls in a C loop (udp-floor.c)", us(r.floorUs), r.floorUs === null ? '— (no cc)' : ratio(r.floorUs)],
    ['rtprobe run --spin auto (busy-waits for send accuracy)', us(r.controllerSpinAutoUs), paired(r.controllerSpinAutoVsFping, r.controllerSpinAutoUs)],
    ["rtprobe run icmp://127.0.0.1 (fping's own path)", us(r.controllerIcmpUs), ratio(r.controllerIcmpUs)],
    ['  of it, its I/O thread (rtprobe-send)', us(r.controllerIcmpIoThreadUs), ratio(r.controllerIcmpIoThreadUs)],
    ['rtprobe agent (native reflector)', us(r.agentUs), paired(r.agentVsFping, r.agentUs)],
    ['  of it, its I/O thread (rtprobe-reflect)', us(r.agentIoThreadUs), ratio(r.agentIoThreadUs)],
    ['  of it, its JavaScript thread', us(r.agentJsThreadUs), ratio(r.agentJsThreadUs)],
    ["  of it, V8's compiler and GC threads (the rest)", us(restOf(r.agentUs, r.agentIoThreadUs, r.agentJsThreadUs)),
      ratio(restOf(r.agentUs, r.agentIoThreadUs, r.agentJsThreadUs))],
    ['fping -p 10 (beside the UDP runs)', us(r.fpingUs), r.fpingUs === null ? '— (not installed)' : '1.0'],
    ['irtt client -i 10ms (the two-process peer)', us(r.irttClientUs), r.irttClientUs === null ? '— (not installed)' : ratio(r.irttClientUs)],
    ['irtt server', us(r.irttServerUs), r.irttServerUs === null ? '— (not installed)' : ratio(r.irttServerUs)],
  ]) + `\n  CPU time from /proc/PID/task/TID/schedstat over ${r.windowS} s after a ${r.warmUpS} s warm-up, mean of ${r.rounds} alternating round(s); beside each UDP run of rtprobe, fping and the floor started afresh for each of ${partsOfWindow(r.windowS)} part(s) of the window (another phase of rtprobe's period each time: on a VM a process's CPU a probe depends on when it wakes relative to the others, up to 1.6× between two identical C loops) and measured in the same seconds ('paired': the median of those ${r.pairedParts} same-seconds ratios; the other rows over fping's mean); the I/O thread rows are the native loop alone (fping's equivalent), the JavaScript thread rows Node's main thread (woken about once a second for a batch, with --quiet), the rest V8's helper threads (its optimizing compiler, its collector): recompilations after deoptimizations and the occasional major GC, 1–19 µs a probe from one run to the next over seconds 60–120 (perf); the default sleeps to each deadline (no --cpu); the --spin auto row shows what busy-waiting the wake-ups' median lateness (up to 100 µs) costs, the default with --cpu (what it buys, send accuracy, is in the run's send_error_ns); the floor row is udp-floor.c beside the default controller, to an agent of its own: the I/O thread's system calls for each probe and nothing else, so the I/O thread over it is what rtprobe adds to the kernel's work.\n${floorLine(r)}\n${jsFaultsLine(r)}\n${cpuGoalLine(r)}`;
}
