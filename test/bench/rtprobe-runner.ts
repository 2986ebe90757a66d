/**
 * Runs rtprobe as a user would: `rtprobe agent` on the server side (it prints
 * `listening udp HOST:PORT` when ready), then `rtprobe run ... --json FILE --quiet`.
 * rtprobe keeps histograms, not samples, so a round yields its percentiles only.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { BenchPath } from './bench-path.js';
import { ProcSampler } from './proc-sampler.js';
import type { ProcSample } from './proc-sampler.js';
import { runToEnd, showCommand, startService, tail } from './proc.js';
import type { Finished, Service } from './proc.js';
import { parseRtprobeReport } from './rtprobe-report.js';
import type { RtprobeReport } from './rtprobe-report.js';
import { clientTimeoutS } from './run-spec.js';
import type { RunSpec } from './run-spec.js';
import type { RoundResult, ToolId } from './tool-result.js';

export type StampMode = 'kernel' | 'user';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CLI = join(REPO_ROOT, 'shared/cli/rtprobe.js');

let cliStatus: string | undefined | null = null;

/** undefined when the CLI works, else why not (checked once). */
export async function rtprobeCliProblem(): Promise<string | undefined> {
  if (cliStatus !== null) return cliStatus;
  if (!existsSync(CLI)) {
    cliStatus = 'rtprobe CLI not built yet (no shared/cli/rtprobe.js)';
  } else {
    const f = await runToEnd(process.execPath, [CLI, 'run', '--help'], { timeoutS: 30, cwd: REPO_ROOT });
    cliStatus = f.code === 0 ? undefined : `rtprobe CLI not usable yet (\`rtprobe run --help\` exit ${f.code ?? f.signal})\n${tail(f)}`;
  }
  return cliStatus;
}

export interface Agent {
  host: string;
  port: number;
  service: Service;
}

export interface AgentOptions {
  /** address to bind instead of the path's server host (0.0.0.0: answer every loopback address) */
  listenHost?: string;
  /** more `rtprobe agent` flags, e.g. --max-sessions */
  extraArgs?: readonly string[];
}

export async function startAgent(path: BenchPath, mode: StampMode, lifeS: number, o: AgentOptions = {}): Promise<Agent> {
  // port 0 on loopback: the agent picks one and tells us
  const port = path.name === 'loopback' ? 0 : await path.port(7707);
  const service = await startService(
    process.execPath,
    // --max-rate off: the capacity rounds send up to 20 kHz from one source, above the default limit.
    [CLI, 'agent', '--listen', `${o.listenHost ?? path.serverHost}:${port}`, '--timestamps', mode, '--max-rate', 'off', ...(o.extraArgs ?? [])],
    { netns: path.serverNetns, timeoutS: lifeS, cwd: REPO_ROOT, ready: /listening udp (\S+)/, readyTimeoutS: 30 },
  );
  const where = service.ready[1] ?? '';
  const realPort = Number(where.slice(where.lastIndexOf(':') + 1));
  if (!Number.isInteger(realPort) || realPort <= 0) {
    await service.stop();
    throw new Error(`rtprobe agent printed no usable port: ${service.ready[0]}`);
  }
  return { host: path.serverHost, port: realPort, service };
}

export interface ControllerRun {
  finished: Finished;
  report?: RtprobeReport;
  /** last /proc sample of the controller before it exited */
  sample?: ProcSample;
  command: string;
}

export interface ControllerArgs {
  path: BenchPath;
  /** the agent to probe; null = ICMP echo to the path's server host (no agent) */
  agent: Agent | null;
  targets: number;
  rateHz: number;
  /** either a duration or a probe count per target */
  seconds?: number;
  count?: number;
  mode: StampMode;
  jsonFile: string;
  timeoutS: number;
  /** poll /proc for RSS (fallback if the report has no process block); off for latency runs */
  sampleProc?: boolean;
  /** `--targets-file FILE` instead of `targets` × --target to the agent */
  targetsFile?: string;
  /** more `rtprobe run` flags, e.g. --loss-after */
  extraArgs?: readonly string[];
}

export async function runController(a: ControllerArgs): Promise<ControllerRun> {
  const args = [CLI, 'run'];
  if (a.targetsFile !== undefined) args.push('--targets-file', a.targetsFile);
  else {
    for (let i = 0; i < a.targets; i++) {
      args.push('--target', a.agent ? `t${i}=${a.agent.host}:${a.agent.port}` : `t${i}=icmp://${a.path.serverHost}`);
    }
  }
  args.push('--rate', String(a.rateHz));
  if (a.count !== undefined) args.push('--count', String(a.count));
  else args.push('--duration', `${a.seconds ?? 1}s`);
  args.push('--timestamps', a.mode, ...(a.extraArgs ?? []), '--json', a.jsonFile, '--quiet');
  let sampler: ProcSampler | undefined;
  const finished = await runToEnd(process.execPath, args, { netns: a.path.clientNetns, timeoutS: a.timeoutS, cwd: REPO_ROOT }, (pid) => {
    if (a.sampleProc) sampler = new ProcSampler(pid, 200);
  });
  const run: ControllerRun = { finished, command: showCommand('rtprobe', args.slice(1), { netns: a.path.clientNetns }) };
  const sample = sampler?.stop();
  if (sample) run.sample = sample;
  try {
    run.report = parseRtprobeReport(readFileSync(a.jsonFile, 'utf8'));
  } catch {
    /* no report: the caller says so with the output's tail */
  }
  return run;
}

/** From the report's own `timestamps` block: what really stamped, not what was asked. */
function stampLabel(tx: string, rx: string): string {
  if (tx === 'kernel' && rx === 'kernel') return 'kernel (SO_TIMESTAMPING sw)';
  if (tx === rx) return tx === 'user' ? 'user (Node)' : tx;
  return `tx ${tx}, rx ${rx}`;
}

/** The first warning the CLI printed (e.g. why kernel stamps fell back to user). */
function firstWarning(f: Finished): string | undefined {
  return /^warning: .*$/m.exec(f.stderr)?.[0];
}

/** rtprobe's agent-less ICMP mode, kernel stamps, against the path's own kernel (as ping). */
export async function runRtprobeIcmp(spec: RunSpec): Promise<RoundResult[]> {
  const base = { tool: 'rtprobe-icmp' as const, round: spec.round, stamps: 'kernel (SO_TIMESTAMPING sw); ICMP' };
  const fail = (note: string): RoundResult[] => [{ ...base, ok: false, note, sent: 0, received: 0, durationS: 0 }];
  if (process.getuid?.() !== 0) return fail('ICMP mode needs raw sockets: run the bench as root');
  const problem = await rtprobeCliProblem();
  if (problem) return fail(problem);
  const jsonFile = join(spec.tmpDir, `rtprobe-icmp-${spec.path.name}-${spec.round}.json`);
  const c = await runController({ path: spec.path, agent: null, targets: 1, rateHz: spec.rateHz, seconds: spec.seconds,
    mode: 'kernel', jsonFile, timeoutS: clientTimeoutS(spec) });
  const t = c.report?.targets[0];
  if (!c.report || !t?.rtt) return fail(`no JSON report (exit ${c.finished.code ?? c.finished.signal}): ${c.command}\n${tail(c.finished)}`);
  const r: RoundResult = {
    ...base, ok: true, rtt: t.rtt, sent: t.sent, received: t.received, durationS: c.report.durationS,
    stamps: `${stampLabel(t.stampsTx, t.stampsRx)}; ICMP`, extra: { missed_send_slots: t.missedSendSlots },
  };
  if (t.sendErrorNs) r.sendError = t.sendErrorNs;
  return [r];
}

export async function runRtprobe(spec: RunSpec, mode: StampMode): Promise<RoundResult[]> {
  const tool: ToolId = mode === 'kernel' ? 'rtprobe-kernel' : 'rtprobe-user';
  const base = { tool, round: spec.round, stamps: mode === 'kernel' ? 'kernel (SO_TIMESTAMPING sw)' : 'user (Node)' };
  const fail = (note: string): RoundResult[] => [{ ...base, ok: false, note, sent: 0, received: 0, durationS: 0 }];
  const problem = await rtprobeCliProblem();
  if (problem) return fail(problem);

  const timeoutS = clientTimeoutS(spec);
  const agent = await startAgent(spec.path, mode, timeoutS + 30);
  try {
    const jsonFile = join(spec.tmpDir, `rtprobe-${mode}-${spec.path.name}-${spec.round}.json`);
    const c = await runController({ path: spec.path, agent, targets: 1, rateHz: spec.rateHz, seconds: spec.seconds, mode, jsonFile, timeoutS });
    const t = c.report?.targets[0];
    if (!c.report || !t?.rtt) {
      return fail(`no JSON report (exit ${c.finished.code ?? c.finished.signal}): ${c.command}\n${tail(c.finished)}`);
    }
    const r: RoundResult = {
      ...base,
      ok: true,
      rtt: t.rtt,
      sent: t.sent,
      received: t.received,
      durationS: c.report.durationS,
      stamps: stampLabel(t.stampsTx, t.stampsRx),
      extra: { missed_send_slots: t.missedSendSlots },
    };
    if (t.sendErrorNs) r.sendError = t.sendErrorNs;
    const p = c.report.process;
    r.clientCpuS = p ? p.cpuUserS + p.cpuSystemS : c.finished.cpuS ?? NaN;
    if (r.extra) {
      r.extra['cpu_from'] = p ? 'report process block' : 'cutime/cstime of the child';
      if (t.turnaroundNs) {
        r.extra['turnaround_p50_ns'] = t.turnaroundNs.p50;
        r.extra['turnaround_p99_ns'] = t.turnaroundNs.p99;
        r.extra['turnaround_max_ns'] = t.turnaroundNs.max;
      }
      const w = firstWarning(c.finished);
      if (w) r.extra['warning'] = w;
    }
    return [r];
  } finally {
    await agent.service.stop();
  }
}
