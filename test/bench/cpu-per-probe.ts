/**
 * CPU per probe at 100 Hz, start-up excluded (issue 15): utime+stime from /proc of the running
 * processes over a window after a warm-up, for rtprobe's controller and agent (loopback, kernel
 * stamps), for `fping -p 10`, the single-threaded C reference, and for irtt's client and
 * server, the two-process UDP peer, in alternating rounds. On loopback fping's echo is answered
 * by the kernel inside fping's own send (one wake-up a probe, the reply already queued);
 * rtprobe and irtt wait for another process to answer (two).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { processCpuS } from './child-cpu.js';
import { findExecutable } from './find-exe.js';
import { formatTable } from './format-table.js';
import { CLI } from './rtprobe-runner.js';

export interface CpuPerProbeResult {
  windowS: number;
  warmUpS: number;
  rounds: number;
  /** µs of CPU per probe, mean over rounds; null where not measured */
  controllerUs: number | null;
  /** the controller with --spin 0: what the rig costs without the busy-wait it buys send accuracy with */
  controllerNoSpinUs: number | null;
  agentUs: number | null;
  fpingUs: number | null;
  irttClientUs: number | null;
  irttServerUs: number | null;
}

const RATE_HZ = 100;

/** CPU seconds `pids` use between warmUpS and warmUpS + windowS after now. */
async function cpuOverWindow(pids: number[], warmUpS: number, windowS: number): Promise<number[]> {
  await sleep(warmUpS * 1000);
  const before = pids.map((pid) => processCpuS(pid) ?? Number.NaN);
  await sleep(windowS * 1000);
  return pids.map((pid, i) => (processCpuS(pid) ?? Number.NaN) - (before[i] ?? Number.NaN));
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) { resolve(); return; }
    child.once('close', () => resolve());
    child.kill('SIGTERM');
  });
}

async function measureRtprobe(warmUpS: number, windowS: number, controllerArgs: string[] = []): Promise<{ controller: number; agent: number }> {
  const agent = spawn(process.execPath, [CLI, 'agent', '--listen', '127.0.0.1:0', '--timestamps', 'kernel'], { stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    const port = await new Promise<string>((resolve, reject) => {
      agent.stdout?.on('data', (chunk: Buffer) => { const m = /^listening udp [\d.]+:(\d+)/m.exec(String(chunk)); if (m?.[1]) resolve(m[1]); });
      agent.once('close', () => reject(new Error('the agent ended before it listened')));
    });
    const controller = spawn(process.execPath, [CLI, 'run', '--target', `127.0.0.1:${port}`, '--rate', String(RATE_HZ),
      '--duration', `${warmUpS + windowS + 2}s`, '--timestamps', 'kernel', '--quiet', ...controllerArgs], { stdio: 'ignore' });
    const [c = Number.NaN, a = Number.NaN] = await cpuOverWindow([controller.pid ?? 0, agent.pid ?? 0], warmUpS, windowS);
    await stop(controller);
    const probes = RATE_HZ * windowS;
    return { controller: (c / probes) * 1e6, agent: (a / probes) * 1e6 };
  } finally {
    await stop(agent);
  }
}

async function measureFping(fping: string, warmUpS: number, windowS: number): Promise<number> {
  const count = RATE_HZ * (warmUpS + windowS + 2);
  const child = spawn(fping, ['-D', '-q', '-p', String(1000 / RATE_HZ), '-c', String(count), '127.0.0.1'], { stdio: 'ignore' });
  const [cpu = Number.NaN] = await cpuOverWindow([child.pid ?? 0], warmUpS, windowS);
  await stop(child);
  return (cpu / (RATE_HZ * windowS)) * 1e6;
}

async function measureIrtt(irtt: string, warmUpS: number, windowS: number): Promise<{ client: number; server: number }> {
  const port = 17000 + Math.floor(Math.random() * 1000);
  const server = spawn(irtt, ['server', '-b', `127.0.0.1:${port}`], { stdio: 'ignore' });
  try {
    await sleep(500); // irtt prints nothing when ready; it binds at once
    const client = spawn(irtt, ['client', '-i', `${1000 / RATE_HZ}ms`, '-d', `${warmUpS + windowS + 2}s`, '-Q', `127.0.0.1:${port}`], { stdio: 'ignore' });
    const [c = Number.NaN, s = Number.NaN] = await cpuOverWindow([client.pid ?? 0, server.pid ?? 0], warmUpS, windowS);
    await stop(client);
    const probes = RATE_HZ * windowS;
    return { client: (c / probes) * 1e6, server: (s / probes) * 1e6 };
  } finally {
    await stop(server);
  }
}

const mean = (values: number[]): number | null => (values.length === 0 ? null : values.reduce((s, v) => s + v, 0) / values.length);

/** warmUpS: start-up excluded, including the JIT's first optimisations (V8 still compiles ~10 s in). */
export async function measureCpuPerProbe(rounds: number, windowS: number, warmUpS = 10): Promise<CpuPerProbeResult> {
  const fping = findExecutable('fping');
  const irtt = findExecutable('irtt');
  const irttClient: number[] = [];
  const irttServer: number[] = [];
  const controller: number[] = [];
  const controllerNoSpin: number[] = [];
  const agent: number[] = [];
  const fpingUs: number[] = [];
  for (let round = 0; round < rounds; round++) {
    // alternate who goes first, so neither always meets the machine warm
    const steps = [async () => { const r = await measureRtprobe(warmUpS, windowS); controller.push(r.controller); agent.push(r.agent); },
      async () => { const r = await measureRtprobe(warmUpS, windowS, ['--spin', '0']); controllerNoSpin.push(r.controller); agent.push(r.agent); },
      async () => { if (fping) fpingUs.push(await measureFping(fping, warmUpS, windowS)); },
      async () => { if (irtt) { const r = await measureIrtt(irtt, warmUpS, windowS); irttClient.push(r.client); irttServer.push(r.server); } }];
    for (const step of round % 2 === 0 ? steps : [...steps].reverse()) await step();
  }
  return { windowS, warmUpS, rounds, controllerUs: mean(controller), controllerNoSpinUs: mean(controllerNoSpin), agentUs: mean(agent), fpingUs: mean(fpingUs),
    irttClientUs: mean(irttClient), irttServerUs: mean(irttServer) };
}

export function renderCpuPerProbe(r: CpuPerProbeResult): string {
  const us = (v: number | null): string => (v === null ? '—' : v.toFixed(0));
  const ratio = (v: number | null): string => (v === null || r.fpingUs === null ? '—' : (v / r.fpingUs).toFixed(1));
  return formatTable(['process (100 Hz, loopback)', 'CPU µs/probe', '× fping'], [
    ['rtprobe run (controller, kernel stamps)', us(r.controllerUs), ratio(r.controllerUs)],
    ['rtprobe run --spin 0 (sleep only)', us(r.controllerNoSpinUs), ratio(r.controllerNoSpinUs)],
    ['rtprobe agent (native reflector)', us(r.agentUs), ratio(r.agentUs)],
    ['fping -p 10', us(r.fpingUs), r.fpingUs === null ? '— (not installed)' : '1.0'],
    ['irtt client -i 10ms (the two-process peer)', us(r.irttClientUs), r.irttClientUs === null ? '— (not installed)' : ratio(r.irttClientUs)],
    ['irtt server', us(r.irttServerUs), r.irttServerUs === null ? '— (not installed)' : ratio(r.irttServerUs)],
  ]) + `\n  utime+stime from /proc over ${r.windowS} s after a ${r.warmUpS} s warm-up, mean of ${r.rounds} alternating round(s); the --spin 0 row shows what the default --spin 100 costs (what it buys, send accuracy, is in the run's send_error_ns).`;
}
