/**
 * agent --timer-latency on real processes: the agent's timer thread for 5 s beside real
 * cyclictest (rt-tests) measuring the same machine at the same time; a CPU hog (stress-ng)
 * pinned to the timer's CPU raises the timer max and the worst round trips' annotation
 * follows; without the privilege for SCHED_FIFO a warning names it and --require-rt exits 2.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI_PATH, runCli, startAgent, type CliResult, type RunningAgent } from '../helpers/cli.js';
import { skipNote, whySkip } from '../helpers/skip.js';
import { waitFor } from '../helpers/wait-for.js';
import { loadNativeAddon } from '../../shared/native/native-addon.js';

const isRoot = process.getuid?.() === 0;
const has = (tool: string): boolean => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
const TIMER_CPU = 1;

interface TimerSummary { count: number; p50: number | null; p99: number | null; max: number | null; interval_ns: number; priority: number | null; cpu: number | null; max_at: string | null }
interface RunJson {
  targets: {
    rtt_ns: { p99: number | null };
    worst: { rtt_ns: number; guest_timer_max_ns?: number | null }[];
    timer_coincidence?: { worst: number; annotated: number; above_rtt_p99: number };
    agent?: { complete: boolean; timer_ns: TimerSummary | null };
  }[];
}

const agents: RunningAgent[] = [];
afterEach(async () => {
  for (const agent of agents.splice(0)) await agent.stop();
});

async function timedAgent(args: string[]): Promise<RunningAgent> {
  const agent = await startAgent(['--ws', '127.0.0.1:0', '--insecure-no-auth', '--timer-latency', ...args]);
  agents.push(agent);
  return agent;
}

async function probe(agent: RunningAgent, duration: string, extra: string[] = []): Promise<RunJson['targets'][number]> {
  const run = await runCli(['run', '--target', `127.0.0.1:${agent.port}`, '--duration', duration, '--agent-ws', agent.streamUrl ?? '',
    '--json', '-', '--quiet', ...extra], { timeoutMs: 60_000 });
  expect(run.code, run.stderr).toBe(0);
  const target = (JSON.parse(run.stdout) as RunJson).targets[0];
  if (!target) throw new Error(`no target in ${run.stdout}`);
  return target;
}

/** Runs a command to completion, its output kept. */
function runTool(command: string, args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** cyclictest -h output: the sample count, its p50 (µs rows) and the max it prints. */
function readCyclictest(text: string): { samples: number; p50Us: number; maxUs: number } {
  const rows = [...text.matchAll(/^(\d{6})\s+(\d+)$/gm)].map((m) => [Number(m[1]), Number(m[2])] as const);
  const overflows = Number(/# Histogram Overflows: (\d+)/.exec(text)?.[1] ?? NaN);
  const samples = rows.reduce((sum, [, n]) => sum + n, 0) + overflows;
  let seen = 0;
  const p50Us = rows.find(([, n]) => (seen += n) >= samples / 2)?.[0] ?? NaN;
  return { samples, p50Us, maxUs: Number(/# Max Latencies: (\d+)/.exec(text)?.[1] ?? NaN) };
}

const besideSkip = whySkip([!isRoot, 'needs root (cyclictest and the timer at SCHED_FIFO)'], [!has('cyclictest'), 'needs cyclictest (rt-tests)']);

describe.skipIf(besideSkip !== null)(`agent --timer-latency beside cyclictest${skipNote(besideSkip)}`, () => {
  it('5 s at 1 ms beside cyclictest -i 1000 -D 5: samples as the interval says, p50 of the same order, both maxima reported', async () => {
    const agent = await timedAgent([]);
    const [target, cyclictest] = await Promise.all([
      probe(agent, '5s'),
      runTool('cyclictest', ['-i', '1000', '-D', '5', '-q', '-h', '20000', '-p', '95', '-t', '1', '-m']),
    ]);
    expect(cyclictest.code, cyclictest.stderr).toBe(0);
    const theirs = readCyclictest(cyclictest.stdout);
    const timer = target.agent?.timer_ns;
    expect(target.agent?.complete).toBe(true);
    expect(timer).toMatchObject({ interval_ns: 1_000_000, priority: 95, cpu: null });
    // 5 s at 1 ms: ~5000 wake-ups each (ours over the session, flush included; wake-ups a whole
    // interval late skip due times, as in cyclictest)
    expect(timer?.count).toBeGreaterThan(4000);
    expect(timer?.count).toBeLessThan(6000);
    expect(theirs.samples).toBeGreaterThan(4000);
    expect(theirs.samples).toBeLessThanOrEqual(5001);
    const oursUs = (timer?.p50 ?? NaN) / 1000;
    const apart = Math.abs(oursUs - theirs.p50Us) <= 20 || Math.max(oursUs, theirs.p50Us) / Math.max(1, Math.min(oursUs, theirs.p50Us)) <= 3;
    expect(apart, `p50 ours ${oursUs} µs, cyclictest ${theirs.p50Us} µs`).toBe(true);
    expect(timer?.max).toBeGreaterThanOrEqual(timer?.p99 ?? Infinity);
    expect(Date.parse(timer?.max_at ?? '')).toBeGreaterThan(Date.now() - 60_000);
    expect(theirs.maxUs).toBeGreaterThan(0);
    // every worst round trip gets its interval's timer max, or null where none was known yet
    expect(target.worst.every((w) => w.guest_timer_max_ns === null || (w.guest_timer_max_ns ?? 0) > 0)).toBe(true);
    expect(target.timer_coincidence?.worst).toBe(target.worst.length);
    const stopped = await agents.splice(0)[0]?.stop();
    expect(stopped?.stdout).toMatch(/timer: \d+ wake-ups every 1000\.0 µs, SCHED_FIFO 95 \(CLOCK_MONOTONIC\): p50 .* max .* at \d{4}-/);
  }, 60_000);
});

const hogSkip = whySkip([!isRoot, 'needs root (SCHED_FIFO hog)'], [!has('stress-ng'), 'needs stress-ng'], [cpus().length < 2, 'needs 2 CPUs']);

describe.skipIf(hogSkip !== null)(`agent --timer-latency under a CPU hog on its CPU${skipNote(hogSkip)}`, () => {
  it('a SCHED_FIFO stress-ng hog pinned to the timer\'s CPU raises the timer max, and the worst round trips carry it', async () => {
    // The timer and the reflector thread share CPU 1, the controller's sender keeps to CPU 0.
    const agent = await timedAgent(['--timer-cpu', String(TIMER_CPU), '--cpu', String(TIMER_CPU), '--rt-priority', '90']);
    const before = await probe(agent, '3s', ['--cpu', '0']);
    // 30 ms busy at FIFO 96 (above the timer's 95) about once a second: 3% of one CPU.
    const hog = runTool('stress-ng', ['--cpu', '1', '--taskset', String(TIMER_CPU), '--sched', 'fifo', '--sched-prio', '96',
      '--cpu-load', '3', '--cpu-load-slice', '30', '-t', '7']);
    const during = await probe(agent, '5s', ['--cpu', '0']);
    expect((await hog).code).toBe(0);
    const [quiet, loaded] = [before.agent?.timer_ns, during.agent?.timer_ns];
    expect(loaded?.cpu).toBe(TIMER_CPU);
    // A wake-up due in a 30 ms burst waits for its end; the quiet run's p99 is far below.
    expect(loaded?.max).toBeGreaterThan(15e6);
    expect(loaded?.max).toBeGreaterThan(quiet?.p99 ?? Infinity);
    // Probes the hog delayed (the reflector waits for it too) fell in intervals with a timer spike.
    const delayed = during.worst.filter((w) => w.rtt_ns > 10e6);
    expect(delayed.length).toBeGreaterThan(0);
    const spiked = delayed.filter((w) => (w.guest_timer_max_ns ?? 0) > 10e6);
    expect(spiked.length / delayed.length, JSON.stringify(during.worst)).toBeGreaterThanOrEqual(0.5);
    expect(during.timer_coincidence?.above_rtt_p99).toBeGreaterThan(0);
  }, 60_000);
});

const privilegeSkip = whySkip([!isRoot, 'needs root to start the agent as nobody'], [!has('setpriv'), 'needs setpriv (util-linux)'],
  [!has('prlimit'), 'needs prlimit (util-linux)']);

describe.skipIf(privilegeSkip !== null)(`agent --timer-latency without CAP_SYS_NICE${skipNote(privilegeSkip)}`, () => {
  const asNobody = (args: string[]): Promise<CliResult> => new Promise((resolve) => {
    const child = spawn('prlimit', ['--rtprio=0', 'setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all',
      process.execPath, CLI_PATH, 'agent', '--listen', '127.0.0.1:0', '--timer-latency', ...args]);
    let stdout = '';
    let stderr = '';
    let stopped = false;
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      // once: a second SIGTERM during its exit would kill it by the default action
      if (!stopped && stdout.includes('listening udp')) stopped = child.kill('SIGTERM');
    });
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });

  it('runs at SCHED_OTHER with a warning naming the privilege; --require-rt makes it exit 2', async () => {
    const warned = await asNobody([]);
    expect(warned.stderr).toMatch(/warning: timer thread: SCHED_FIFO priority 95 not set: EPERM — needs CAP_SYS_NICE or RLIMIT_RTPRIO >= 95/);
    expect(warned.code).toBe(0);
    expect(warned.stdout).toMatch(/timer: .*SCHED_OTHER/);
    const refused = await asNobody(['--require-rt']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--require-rt');
    expect(refused.stdout).not.toContain('listening udp');
  }, 30_000);
});

describe('agent --timer-latency: what it needs', () => {
  it('without the native addon: exit 2 naming it, nothing listens', async () => {
    const refused = await runCli(['agent', '--listen', '127.0.0.1:0', '--timer-latency'], { env: { RTPROBE_NO_ADDON: '1' }, timeoutMs: 20_000 });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--timer-latency needs the native addon: disabled by RTPROBE_NO_ADDON=1');
    expect(refused.stdout).not.toContain('listening');
  });
});

const soakSkip = whySkip([!loadNativeAddon().ok, 'needs the native addon (the timer thread)']);

describe.skipIf(soakSkip !== null)(`soak --hlog with the guest timer, read back by rtprobe report${skipNote(soakSkip)}`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'rtprobe-timer-soak-'));

  it('tag timer per interval; report --html plots its max under the RTT max; --cyclictest exports it', async () => {
    try {
      const agent = await timedAgent([]);
      const logs = join(dir, 'logs');
      const child = spawn(process.execPath, [CLI_PATH, 'soak', '--target', `g=127.0.0.1:${agent.port}`, '--interval', '1s', '--hlog', logs,
        '--agent-ws', `g=${agent.streamUrl ?? ''}`, '--quiet'], { stdio: ['ignore', 'pipe', 'pipe'] });
      const ended = new Promise<number | null>((resolve) => child.on('close', resolve));
      const timerLines = (): string[] => {
        const name = readdirSync(dir).includes('logs') ? readdirSync(logs).find((f) => f.endsWith('.hlog')) : undefined;
        return name === undefined ? [] : readFileSync(join(logs, name), 'utf8').split('\n').filter((l) => l.startsWith('Tag=timer,'));
      };
      await waitFor(() => timerLines().length >= 3, { what: () => `3 timer lines (${timerLines().length} so far)`, timeoutMs: 30_000, everyMs: 100 });
      child.kill('SIGINT');
      expect(await ended).toBe(0);
      const report = await runCli(['report', logs, '--json', '--html', join(dir, 'r.html'), '--cyclictest', join(dir, 'ct.txt')]);
      expect(report.code, report.stderr).toBe(0);
      const timer = (JSON.parse(report.stdout).series as { tag: string; intervals: number; values_ns: { count: number; max: number } }[])
        .find((x) => x.tag === 'timer');
      // about 1000 wake-ups a 1 s interval (SCHED_OTHER when not root, so a few late ones skip due times)
      expect(timer?.intervals).toBeGreaterThanOrEqual(3);
      expect((timer?.values_ns.count ?? 0) / (timer?.intervals ?? 1)).toBeGreaterThan(500);
      const html = readFileSync(join(dir, 'r.html'), 'utf8');
      const maxPlot = html.indexOf('aria-label="Max RTT over time"');
      const timerPlot = html.indexOf('aria-label="Guest timer max over time"');
      expect(maxPlot).toBeGreaterThan(0);
      expect(timerPlot).toBeGreaterThan(maxPlot);
      const cyclictest = readFileSync(join(dir, 'ct-g-timer.txt'), 'utf8');
      expect(cyclictest).toMatch(/^# Histogram\n/);
      expect(Number(/# Max Latencies: (\d+)/.exec(cyclictest)?.[1])).toBe(Math.floor((timer?.values_ns.max ?? 0) / 1000));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
