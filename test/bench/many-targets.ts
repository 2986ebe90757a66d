/**
 * Many targets at 100 Hz (issue 15 items 4–6), loopback, kernel stamps: one `rtprobe agent` on
 * 0.0.0.0 answers 127.0.X.Y, one controller probes 1, 100 and 1000 of those addresses from a
 * --targets-file. Per step: probes sent, missed send slots, loss, send error p99 (worst and
 * median target), peak RSS and CPU of both processes, what the agent itself reflected; then
 * RSS per target of each process. Then 1000 targets once more as an RT engineer runs them (root
 * only): the controller's sender SCHED_FIFO on a CPU of its own, the agent's reflector on the
 * other (RT_PLACEMENT).
 * Judged against the issue's goal: < 0.1 % missed, < 0.1 % loss, send error p99 ≤ 100 µs.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loopbackPath } from './bench-path.js';
import { processCpuS } from './child-cpu.js';
import { fixed, formatTable, us } from './format-table.js';
import { agentCounters, figuresOf, goalShortfalls, MANY_TARGETS_GOAL, slope, targetsFileText, type ManyTargetsFigures } from './many-targets-plan.js';
import { measureSockperfCeiling, sockperfCeilingSkipReason, type SockperfCeiling } from './many-targets-peer.js';
import { SOCKPERF_STAMPS } from './peers/sockperf.js';
import { CLOCK_OF_SOURCE } from '../../shared/report/clock-names.js';
import { leafPid, statusBytes } from './proc-sampler.js';
import { tail } from './proc.js';
import { runController, startAgent } from './rtprobe-runner.js';

export interface ManyTargetsStep extends Partial<ManyTargetsFigures> {
  targetsAsked: number;
  /** the RT placement's label (RT_PLACEMENT) when the step ran with it; absent: default scheduling */
  placement?: string;
  rateHz: number;
  seconds: number;
  command: string;
  /** VmHWM of the controller, last /proc sample (every 200 ms) before it exited */
  controllerPeakRssBytes?: number;
  /** the report's process.rss_bytes: RSS when the report was written, not the peak */
  controllerRssAtReportBytes?: number;
  /** user+system of the whole run, start-up included */
  controllerCpuS?: number;
  controllerCpuFrom: string;
  /** VmHWM of the agent just before it was stopped */
  agentPeakRssBytes?: number;
  /** the agent's user+system while the controller ran */
  agentCpuS?: number;
  /** the agent's own counters, printed when it is stopped */
  agentReceived?: number;
  agentReflected?: number;
  /** the goal met in full */
  pass: boolean;
  shortfalls: string[];
  note?: string;
}

export interface ManyTargetsResult {
  rateHz: number;
  seconds: number;
  goal: typeof MANY_TARGETS_GOAL;
  steps: ManyTargetsStep[];
  /** why the step with RT_PLACEMENT did not run (not root) */
  placementSkipped?: string;
  /** sockperf at each step's message rate, right after it (many-targets-peer.ts) */
  ceiling: SockperfCeiling[];
  ceilingSkipped?: string;
  /** least-squares slope of peak RSS over the target count, MiB per target */
  controllerRssMiBPerTarget?: number;
  agentRssMiBPerTarget?: number;
}

export const MANY_TARGETS_STEPS: readonly number[] = [1, 100, 1000];
const RATE_HZ = 100;
const LOSS_AFTER = '2s';

/**
 * How an RT engineer places 100 000 probes a second on two CPUs: the sender SCHED_FIFO and
 * alone on CPU 0 (a due slot takes the CPU at once, not after a time slice), the agent's
 * reflector on CPU 1 at normal priority, the JavaScript threads wherever there is room. (Both
 * socket threads SCHED_FIFO left too little CPU for the controller's JavaScript here: it fell
 * seconds behind and the sender paused at its backlog bound.)
 */
export const RT_PLACEMENT = {
  label: 'sender SCHED_FIFO 50 on CPU 0, reflector on CPU 1',
  controllerArgs: ['--rt-priority', '50', '--cpu', '0'],
  agentArgs: ['--cpu', '1'],
} as const;

interface Placement { label: string; controllerArgs: readonly string[]; agentArgs: readonly string[] }

async function measureStep(n: number, seconds: number, tmpDir: string, placement?: Placement): Promise<ManyTargetsStep> {
  const path = loopbackPath();
  const timeoutS = seconds * 3 + 60;
  const agent = await startAgent(path, 'kernel', timeoutS + 30, { listenHost: '0.0.0.0',
    extraArgs: ['--max-sessions', '1024', '--max-sessions-per-source', '1024', ...(placement?.agentArgs ?? [])] });
  const agentPid = leafPid(agent.service.pid);
  let step: ManyTargetsStep | undefined;
  let agentGone = false;
  try {
    const name = `many-${n}${placement ? '-rt' : ''}`;
    const targetsFile = join(tmpDir, `${name}.targets`);
    writeFileSync(targetsFile, targetsFileText(n, agent.port));
    const agentCpu0 = processCpuS(agentPid);
    const c = await runController({
      path, agent, targets: n, rateHz: RATE_HZ, seconds, mode: 'kernel', jsonFile: join(tmpDir, `${name}.json`),
      timeoutS, sampleProc: true, targetsFile, extraArgs: ['--loss-after', LOSS_AFTER, ...(placement?.controllerArgs ?? [])],
    });
    const agentCpu1 = processCpuS(agentPid);
    const agentPeak = statusBytes(agentPid, 'VmHWM');
    agentGone = agentCpu1 === undefined;
    const p = c.report?.process;
    step = {
      targetsAsked: n, rateHz: RATE_HZ, seconds, command: c.command, pass: false, shortfalls: [], ...(placement ? { placement: placement.label } : {}),
      controllerCpuFrom: p ? 'report process block (start-up included)' : 'cutime/cstime of the child (start-up included)',
    };
    if (c.sample?.peakRssBytes !== undefined) step.controllerPeakRssBytes = c.sample.peakRssBytes;
    if (p) step.controllerRssAtReportBytes = p.rssBytes;
    const cpu = p ? p.cpuUserS + p.cpuSystemS : c.finished.cpuS;
    if (cpu !== undefined) step.controllerCpuS = cpu;
    if (agentPeak !== undefined) step.agentPeakRssBytes = agentPeak;
    if (agentCpu0 !== undefined && agentCpu1 !== undefined) step.agentCpuS = agentCpu1 - agentCpu0;
    if (!c.report) {
      step.note = `no report (exit ${c.finished.code ?? c.finished.signal}): ${c.command}\n${tail(c.finished)}`;
      step.shortfalls = ['no report'];
    } else {
      const f = figuresOf(c.report.targets, c.report.allTargetsSendErrorNs);
      Object.assign(step, f);
      step.shortfalls = goalShortfalls(f, n);
      step.pass = step.shortfalls.length === 0;
    }
  } finally {
    // an agent with 1000 sessions on a loaded machine takes seconds to print its counters and go
    const end = await agent.service.stop(15, 'program');
    // the agent's own count of what it answered, from the line it prints when stopped
    const counted = agentCounters(`${end.stdout}\n${end.stderr}`);
    if (step && counted) Object.assign(step, { agentReceived: counted.received, agentReflected: counted.reflected });
    if (step && agentGone) {
      step.note = `${step.note ? `${step.note}\n` : ''}the agent ended before the run did (exit ${end.code ?? end.signal}):\n${tail(end)}`;
      step.shortfalls.push('agent ended early');
      step.pass = false;
    }
  }
  return step;
}

/** measureStep, or a failed step with the reason (e.g. the agent did not come up): the other steps still run. */
async function measureStepOrNote(n: number, o: { seconds: number; tmpDir: string }, placement?: Placement): Promise<ManyTargetsStep> {
  try {
    return await measureStep(n, o.seconds, o.tmpDir, placement);
  } catch (e) {
    const note = e instanceof Error ? e.message : String(e);
    return { targetsAsked: n, ...(placement ? { placement: placement.label } : {}), rateHz: RATE_HZ, seconds: o.seconds, command: '',
      controllerCpuFrom: 'none', pass: false, shortfalls: ['failed'], note };
  }
}

export async function measureManyTargets(o: { seconds: number; tmpDir: string; log: (s: string) => void }): Promise<ManyTargetsResult> {
  const res: ManyTargetsResult = { rateHz: RATE_HZ, seconds: o.seconds, goal: MANY_TARGETS_GOAL, steps: [], ceiling: [] };
  const ceilingSkipped = sockperfCeilingSkipReason();
  if (ceilingSkipped) res.ceilingSkipped = ceilingSkipped;
  for (const n of MANY_TARGETS_STEPS) {
    const s = await measureStepOrNote(n, o);
    res.steps.push(s);
    o.log(`  ${n} × ${RATE_HZ} Hz: sent ${s.sent ?? '–'}, missed slots ${fixed(s.missedPct, 3)} %, loss ${fixed(s.lossPct, 3)} %` +
      `, controller peak RSS ${mib(s.controllerPeakRssBytes)} MiB, the agent reflected ${s.agentReflected ?? '–'} of ${s.agentReceived ?? '–'} received${s.note ? `\n${s.note}` : ''}`);
    if (ceilingSkipped) continue;
    const mps = n * RATE_HZ;
    const c = await measureSockperfCeiling(mps, o.seconds).catch((e: unknown): SockperfCeiling =>
      ({ messagesPerS: mps, seconds: o.seconds, command: '', note: e instanceof Error ? e.message : String(e) }));
    res.ceiling.push(c);
    o.log(`  sockperf at ${mps} messages/s: dropped ${fixed(c.droppedPct, 3)} %, p99 ${fixed(c.p99Us, 0)} µs${c.note ? `\n${c.note}` : ''}`);
  }
  const top = MANY_TARGETS_STEPS[MANY_TARGETS_STEPS.length - 1] ?? 1000;
  if (process.getuid?.() === 0) {
    const s = await measureStepOrNote(top, o, RT_PLACEMENT);
    res.steps.push(s);
    o.log(`  ${top} × ${RATE_HZ} Hz, ${RT_PLACEMENT.label}: missed slots ${fixed(s.missedPct, 3)} %, loss ${fixed(s.lossPct, 3)} %${s.note ? `\n${s.note}` : ''}`);
  } else {
    res.placementSkipped = 'not root (SCHED_FIFO needs CAP_SYS_NICE)';
  }
  const perTarget = (rss: (s: ManyTargetsStep) => number | undefined): number | undefined => {
    // default scheduling only: one point a target count
    const k = slope(res.steps.filter((s) => s.placement === undefined).map((s) => ({ x: s.targetsAsked, y: rss(s) ?? NaN })));
    return k === undefined ? undefined : k / 2 ** 20;
  };
  const c = perTarget(controllerRss);
  if (c !== undefined) res.controllerRssMiBPerTarget = c;
  const a = perTarget((s) => s.agentPeakRssBytes);
  if (a !== undefined) res.agentRssMiBPerTarget = a;
  return res;
}

/** peak RSS; RSS at the report where no /proc sample was taken */
const controllerRss = (s: ManyTargetsStep): number | undefined => s.controllerPeakRssBytes ?? s.controllerRssAtReportBytes;
const mib = (b: number | undefined): string => fixed(b === undefined ? undefined : b / 2 ** 20, 1);

export function renderManyTargets(r: ManyTargetsResult): string {
  const g = r.goal;
  const table = formatTable(
    ['targets × rate', 'sent', 'missed slots %', 'loss %', 'send err p99 all probes µs', 'worst target µs', 'median target µs', `targets ≤ ${r.goal.sendErrorP99Ns / 1000} µs`, 'ctl peak RSS MiB', 'ctl CPU s', 'agent peak RSS MiB', 'agent CPU s', 'agent reflected', 'goal'],
    r.steps.map((s) => [
      `${s.targetsAsked} × ${s.rateHz} Hz${s.placement ? ' RT*' : ''}`, String(s.sent ?? '–'), fixed(s.missedPct, 3), fixed(s.lossPct, 3),
      us(s.sendErrorP99AllNs), us(s.sendErrorP99WorstNs), us(s.sendErrorP99MedianNs),
      s.sendErrorP99WithinGoal === undefined || s.targets === undefined ? '–' : `${s.sendErrorP99WithinGoal} of ${s.targets}`, mib(controllerRss(s)),
      fixed(s.controllerCpuS, 2), mib(s.agentPeakRssBytes), fixed(s.agentCpuS, 2), String(s.agentReflected ?? '–'),
      s.pass ? 'pass' : `MISSED: ${s.shortfalls.join(', ')}`,
    ]),
    [0, 13],
  );
  const perTarget = (v: number | undefined, rss: (s: ManyTargetsStep) => number | undefined): string => {
    if (v === undefined) return 'not measured';
    const steps = r.steps.filter((s) => s.placement === undefined);
    const over = steps.filter((s) => rss(s) !== undefined).map((s) => s.targetsAsked);
    return `${(v * 1024).toFixed(1)} KiB/target (${v.toFixed(4)} MiB)${over.length < steps.length ? ` from ${over.join(' / ')} targets only` : ''}`;
  };
  const placed = r.steps.find((s) => s.placement !== undefined);
  return [
    table,
    ...(placed ? [`  RT*: ${placed.placement} (${RT_PLACEMENT.controllerArgs.join(' ')} on the controller, ${RT_PLACEMENT.agentArgs.join(' ')} on the agent); the others at default scheduling.`] : []),
    ...(r.placementSkipped ? [`  the step with RT placement: skipped, ${r.placementSkipped}`] : []),
    ...renderCeiling(r),
    `  goal (issue 15): < ${g.missedPct} % missed slots, < ${g.lossPct} % loss, send error p99 ≤ ${g.sendErrorP99Ns / 1000} µs (sent − due, ${CLOCK_OF_SOURCE.user}), each over all the step's probes (the report's all_targets), every target answering; the worst and the median target's own p99, and how many targets are within, beside it; ${r.seconds} s per step, --loss-after ${LOSS_AFTER}.`,
    '  peak RSS = VmHWM from /proc (controller: last 200 ms sample before exit; agent: just before it is stopped). Controller CPU: whole run, start-up included; agent CPU: while the controller ran; agent reflected: its own count, printed when it stops.',
    `RSS per target (least-squares slope over ${r.steps.filter((s) => s.placement === undefined).map((s) => s.targetsAsked).join(' / ')} targets): controller ${perTarget(r.controllerRssMiBPerTarget, controllerRss)}, agent ${perTarget(r.agentRssMiBPerTarget, (s) => s.agentPeakRssBytes)}`,
  ].join('\n');
}

/** CPU µs a message: CPU seconds over the messages the run was asked for. */
const perMessageUs = (cpuS: number | undefined, messages: number): number | undefined => (cpuS === undefined ? undefined : (cpuS / messages) * 1e6);

function renderCeiling(r: ManyTargetsResult): string[] {
  if (r.ceilingSkipped) return [`  the machine's ceiling (sockperf): skipped, ${r.ceilingSkipped}`];
  if (r.ceiling.length === 0) return [];
  // sockperf's under-load client busy-polls a core whatever the rate: its CPU a message means
  // something only where the machine is saturated anyway, at the top rate.
  const topRate = Math.max(...r.ceiling.map((c) => c.messagesPerS));
  const rows = r.ceiling.map((c) => {
    const step = r.steps.find((s) => s.placement === undefined && s.targetsAsked * s.rateHz === c.messagesPerS);
    const planned = c.messagesPerS * c.seconds;
    const rtprobeUs = step && step.controllerCpuS !== undefined && step.agentCpuS !== undefined ? perMessageUs(step.controllerCpuS + step.agentCpuS, planned) : undefined;
    const sockperfUs = c.clientCpuS !== undefined && c.serverCpuS !== undefined ? perMessageUs(c.clientCpuS + c.serverCpuS, planned) : undefined;
    return [
      `${c.messagesPerS} msg/s`, String(c.sent ?? '–'), fixed(c.droppedPct, 3), fixed(c.p50Us, 0), fixed(c.p99Us, 0), fixed(c.maxUs, 0),
      fixed(perMessageUs(c.clientCpuS, planned), 1), fixed(perMessageUs(c.serverCpuS, planned), 1), fixed(rtprobeUs, 1),
      c.messagesPerS === topRate && rtprobeUs !== undefined && sockperfUs !== undefined && sockperfUs > 0 ? `${(rtprobeUs / sockperfUs).toFixed(2)}×` : '–',
    ];
  });
  return [
    formatTable(
      ['sockperf at the same rate', 'sent', 'dropped %', 'rtt p50 µs', 'p99 µs', 'max µs', 'client CPU µs/msg', 'server CPU µs/msg', 'rtprobe both µs/msg', 'rtprobe / sockperf CPU'],
      rows,
      [0],
    ),
    `  sockperf under-load --reply-every 1 --full-rtt right after each step, same loopback, same seconds: a C loop without TX stamps, histograms or JavaScript, the machine's own ceiling; its RTTs are stamped ${SOCKPERF_STAMPS} (rtprobe's: kernel). CPU µs/msg = CPU s / (rate × seconds), start-up included on both sides (rtprobe: controller + agent); the ratio at the top rate only (below it sockperf's client busy-polls a core whatever the rate).`,
  ];
}
