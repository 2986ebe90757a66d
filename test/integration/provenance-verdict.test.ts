import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI_PATH, freeUdpPort, runCli, startAgent, type CliResult } from '../helpers/cli.js';
import { lastStatusReceived, spawnCli } from '../helpers/spawn-cli.js';
import { waitFor } from '../helpers/wait-for.js';
import { skipNote, whySkip } from '../helpers/skip.js';
import { CPU_DMA_LATENCY_PATH } from '../../shared/cli/cpu-dma-latency.js';

const dir = mkdtempSync(join(tmpdir(), 'rtprobe-provenance-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PACKAGE_VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const KERNEL = execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim();
const CLOCKSOURCE_FILE = '/sys/devices/system/clocksource/clocksource0/current_clocksource';
const CLOCKSOURCE = existsSync(CLOCKSOURCE_FILE) ? readFileSync(CLOCKSOURCE_FILE, 'utf8').trim() : null;

const isRoot = process.getuid?.() === 0;
const has = (tool: string): boolean => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;

/** `rtprobe ARGS` as uid/gid 65534 with no capabilities at all (setpriv, util-linux). */
function runAsNobody(args: string[]): Promise<CliResult> {
  return runCliVia('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups', '--inh-caps=-all', '--bounding-set=-all',
    process.execPath, CLI_PATH, ...args]);
}

/** `COMMAND ARGV` (a wrapper that starts rtprobe) to completion. */
function runCliVia(command: string, argv: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(command, argv);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** How many probes an agent saw, from the counters it prints when stopped. */
function agentReceived(stdout: string): number {
  return Number(/rtprobe agent: received (\d+)/.exec(stdout)?.[1] ?? Number.NaN);
}

describe('provenance in every report (real CLI, loopback)', () => {
  it('rtprobe --version prints package.json\'s version', async () => {
    const result = await runCli(['--version']);
    expect(result).toMatchObject({ code: 0, stdout: `rtprobe ${PACKAGE_VERSION}\n` });
  });

  it('run: version, command line, host, kernel, clock source, CPUs, RT settings as applied, and the agent\'s own settings', async () => {
    const agent = await startAgent(['--ws', '127.0.0.1:0', '--insecure-no-auth', '--stream-interval', '500ms', '--rt-priority', '10']);
    try {
      const args = ['run', '--target', `g=127.0.0.1:${agent.port}`, '--agent-ws', agent.streamUrl ?? '', '--count', '100', '--rate', '200',
        '--dscp', '46', '--mlock', '--cpu', '0', '--json', '-'];
      const result = await runCli(args);
      expect(result.code, result.stderr).toBe(0);
      const { provenance } = JSON.parse(result.stdout);
      expect(provenance).toMatchObject({
        rtprobe_version: PACKAGE_VERSION, command_line: ['rtprobe', ...args], node_version: process.version,
        host: { name: hostname(), kernel: KERNEL, clock_source: CLOCKSOURCE, cpu_count: cpus().length },
        rt: {
          sender: 'native', require_rt: false,
          dscp: { requested: 46, applied: true, reason: null },
          cpu: { requested: 0 },
          // --cpu given: the default spin is auto (a pin that fails is a warning: its reason is kept)
          spin_us: { requested: 'auto', applied: true, reason: null },
        },
        // one target, no groups; the spin follows the wake-ups (checked below)
        senders: [{ protocol: 'udp', family: 4, targets: 1, spin_auto: true, send_group_ns: 0, receive_buffer_drops: 0 }],
        // (max_delivery_lag_ms: a few ms at most here; checked below)
        load: null, lab: null,
      });
      // auto: at most 100 µs (under a tenth of 5 ms between slots), and the wake-ups' lateness
      // it learned from (16 of 100 slots at least), their median, when that is less
      const { spin_ns: spinNs, wake_late_p50_ns: medianNs, wake_late_p90_ns: p90Ns } = provenance.senders[0];
      expect(medianNs).toBeGreaterThanOrEqual(0);
      expect(p90Ns).toBeGreaterThanOrEqual(medianNs ?? Number.NaN);
      expect(spinNs).toBe(Math.min(100_000, medianNs ?? Number.NaN));
      expect(provenance.senders[0].max_delivery_lag_ms).toBeGreaterThanOrEqual(0);
      expect(provenance.senders[0].max_delivery_lag_ms).toBeLessThan(1000);
      // root (or RLIMIT_MEMLOCK) decides mlock: whichever it was, it is recorded as it came out
      expect(typeof provenance.rt.mlock.applied).toBe('boolean');
      expect(provenance.agents).toHaveLength(1);
      expect(provenance.agents[0]).toMatchObject({
        target: 'g', agent_version: PACKAGE_VERSION, interval_ms: 500, clocks: { t2: 'kernel' },
        settings: { host: { kernel: KERNEL, name: hostname() }, rt: { sender: 'native', rt_priority: { requested: 10 } }, max_sessions: 16, max_sessions_per_source: 4 },
      });
      // the text header (to stderr with --json -) says the same
      expect(result.stderr).toContain(`rtprobe ${PACKAGE_VERSION} (node ${process.version}): rtprobe run --target`);
      expect(result.stderr).toContain(`host ${hostname()}: kernel ${KERNEL}, clock source ${CLOCKSOURCE ?? 'unknown'}`);
      expect(result.stderr).toMatch(/^rt native socket thread: .*DSCP 46 applied/m);
      expect(result.stderr).toMatch(/^sender udp IPv4, 1 target: one wake-up a slot, spin auto, at the end [\d.]+ µs before each \(its wake-ups came [\d.]+ µs late at the median, up to [\d.]+ µs late at p90, of the last 64, CLOCK_MONOTONIC\)$/m);
    } finally {
      await agent.stop();
    }
  });

  const nobodyMissing = whySkip([!isRoot, 'needs root to drop to uid 65534'], [!has('setpriv'), 'needs setpriv (util-linux)']);
  it.skipIf(nobodyMissing !== null)(`an RT option that failed is recorded as failed, with the reason (uid 65534, no CAP_SYS_NICE or CAP_NET_ADMIN)${skipNote(nobodyMissing)}`, async () => {
    const agent = await startAgent();
    try {
      const result = await runAsNobody(['run', '--target', `g=127.0.0.1:${agent.port}`, '--count', '20', '--rate', '200',
        '--rt-priority', '20', '--priority', '7', '--json', '-', '--quiet']);
      expect(result.code, result.stderr).toBe(0);
      const { provenance, targets } = JSON.parse(result.stdout);
      expect(targets[0].received).toBe(20);
      expect(provenance.rt.rt_priority).toEqual({ requested: 20, applied: false, reason: expect.stringMatching(/^SCHED_FIFO priority 20 not set: EPERM .*CAP_SYS_NICE/) });
      // SO_PRIORITY 7 refused: a warning and the run goes on without it, like SCHED_FIFO
      expect(provenance.rt.priority).toEqual({ requested: 7, applied: false, reason: expect.stringMatching(/SO_PRIORITY failed: EPERM.*CAP_NET_ADMIN/) });
      expect(result.stderr).toMatch(/warning: priority 7: SO_PRIORITY failed: EPERM/);

      const strict = await runAsNobody(['run', '--target', `g=127.0.0.1:${agent.port}`, '--count', '5', '--priority', '7', '--require-rt']);
      expect(strict.code).toBe(2);
      expect(strict.stderr).toMatch(/--require-rt: a real-time option could not be applied/);
    } finally {
      await agent.stop();
    }
  });

  const tasksetMissing = whySkip([!has('taskset'), 'needs taskset'], [cpus().length < 2, 'needs 2 CPUs']);
  it.skipIf(tasksetMissing !== null)(`--cpu outside the allowed CPU set (taskset -c 0 … --cpu 1): recorded as not applied${skipNote(tasksetMissing)}`, async () => {
    const agent = await startAgent();
    try {
      const result = await runCliVia('taskset', ['-c', '0', process.execPath, CLI_PATH, 'run', '--target', `g=127.0.0.1:${agent.port}`,
        '--count', '10', '--rate', '200', '--cpu', '1', '--json', '-', '--quiet']);
      expect(result.code, result.stderr).toBe(0);
      const { provenance } = JSON.parse(result.stdout);
      expect(provenance.rt.cpu).toEqual({ requested: 1, applied: false, reason: expect.stringMatching(/CPU 1 is not in this process's allowed CPU set/) });
    } finally {
      await agent.stop();
    }
  });
});

/** The CPU wake-up latency the kernel holds for all requests on /dev/cpu_dma_latency, µs. */
const readDmaLatency = (): number => readFileSync(CPU_DMA_LATENCY_PATH).readInt32LE(0);

describe('--cpu-dma-latency (/dev/cpu_dma_latency, as cyclictest)', () => {
  const dmaMissing = whySkip([!isRoot, 'needs root to open /dev/cpu_dma_latency'], [!existsSync(CPU_DMA_LATENCY_PATH), 'needs /dev/cpu_dma_latency (PM QoS)']);
  it.skipIf(dmaMissing !== null)(`agent and run hold it while they live, report it held, and let go when they end${skipNote(dmaMissing)}`, async () => {
    const before = readDmaLatency();
    expect(before, 'another process holds a lower value: this test could not see ours').toBeGreaterThan(77);
    const agent = await startAgent(['--cpu-dma-latency', '77']);
    try {
      expect(readDmaLatency()).toBe(77);
      const run = spawnCli(['run', '--target', `g=127.0.0.1:${agent.port}`, '--rate', '50', '--duration', '3s', '--cpu-dma-latency', '40', '--json', '-', '--quiet']);
      // the lower of the two requests holds while both live
      await waitFor(() => readDmaLatency() === 40, { what: 'the run to hold 40 µs', timeoutMs: 20_000, everyMs: 10 });
      expect(await run.exited, run.stderr()).toBe(0);
      const { provenance, targets } = JSON.parse(run.stdout());
      expect(targets[0].received).toBe(targets[0].sent);
      expect(provenance.rt.cpu_dma_latency_us).toEqual({ requested: 40, applied: true, reason: null });
      expect(readDmaLatency()).toBe(77); // the run's request went with it
    } finally {
      await agent.stop();
    }
    expect(readDmaLatency()).toBe(before);
  });

  const nobodyMissing = whySkip([!isRoot, 'needs root to drop to uid 65534'], [!has('setpriv'), 'needs setpriv (util-linux)'],
    [!existsSync(CPU_DMA_LATENCY_PATH), 'needs /dev/cpu_dma_latency (PM QoS)']);
  it.skipIf(nobodyMissing !== null)(`without root: a warning, the run goes on, the report says not held and why; --require-rt: exit 2${skipNote(nobodyMissing)}`, async () => {
    const agent = await startAgent();
    try {
      const result = await runAsNobody(['run', '--target', `g=127.0.0.1:${agent.port}`, '--count', '10', '--rate', '200', '--cpu-dma-latency', '0', '--json', '-', '--quiet']);
      expect(result.code, result.stderr).toBe(0);
      const { provenance, targets } = JSON.parse(result.stdout);
      expect(targets[0].received).toBe(10);
      const reason = 'cpu_dma_latency 0 µs not held: cannot open /dev/cpu_dma_latency (EACCES; needs root, and a kernel with PM QoS)';
      expect(result.stderr).toContain(`warning: ${reason}`);
      expect(provenance.rt.cpu_dma_latency_us).toEqual({ requested: 0, applied: false, reason });
      const strict = await runAsNobody(['run', '--target', `g=127.0.0.1:${agent.port}`, '--count', '5', '--cpu-dma-latency', '0', '--require-rt']);
      expect(strict.code).toBe(2);
      expect(strict.stderr).toMatch(/--require-rt: a real-time option could not be applied/);
      const strictAgent = await runAsNobody(['agent', '--listen', '127.0.0.1:0', '--cpu-dma-latency', '0', '--require-rt']);
      expect(strictAgent.code).toBe(2);
      expect(strictAgent.stderr).toContain(`rtprobe agent: warning: ${reason}`);
    } finally {
      await agent.stop();
    }
  });
});

describe('verdicts for CI: --max-rtt, --max-p99, --max-loss', () => {
  it('run: PASS exits 0, FAIL exits 4, the verdict line last and a verdict object in the JSON', async () => {
    const agent = await startAgent();
    try {
      const target = `g=127.0.0.1:${agent.port}`;
      const pass = await runCli(['run', '--target', target, '--count', '50', '--rate', '200', '--max-rtt', '10s', '--max-p99', '10s', '--max-loss', '0']);
      expect(pass.code, pass.stderr).toBe(0);
      expect(pass.stdout.trimEnd().split('\n').at(-1)).toMatch(/^verdict: PASS: g max RTT .* <= limit 10\.000 s; g p99 RTT .* <= limit 10\.000 s; g loss 0\.000% <= limit 0\.000%$/);

      const json = join(dir, 'fail.json');
      const fail = await runCli(['run', '--target', target, '--count', '50', '--rate', '200', '--max-rtt', '1ns', '--json', json]);
      expect(fail.code).toBe(4);
      expect(fail.stdout.trimEnd().split('\n').at(-1)).toMatch(/^verdict: FAIL: g max RTT [\d.]+ µs > limit 0\.0 µs$/);
      const report = JSON.parse(readFileSync(json, 'utf8'));
      expect(report.verdict).toEqual({
        result: 'fail', limits: { max_rtt_ns: 1, max_p99_ns: null, max_loss_ratio: null },
        checks: [{ target: 'g', limit: 'max-rtt', value: report.targets[0].rtt_ns.max, threshold: 1, pass: false }],
      });
      // --quiet keeps the verdict line, on stderr
      const quiet = await runCli(['run', '--target', target, '--count', '20', '--rate', '200', '--max-p99', '1ns', '--quiet']);
      expect(quiet.code).toBe(4);
      expect(quiet.stderr).toMatch(/^verdict: FAIL: g p99 RTT/m);
    } finally {
      await agent.stop();
    }
  });

  it('compare: a FAIL exits 4 and lands in the JSON; a target that never answers stays exit 1', async () => {
    const agent = await startAgent();
    const dead = await freeUdpPort();
    try {
      const result = await runCli(['compare', '--target', `a=127.0.0.1:${agent.port}`, '--target', `b=127.0.0.1:${agent.port}`,
        '--count', '30', '--rate', '200', '--max-p99', '1ns', '--json', '-', '--quiet']);
      expect(result.code, result.stderr).toBe(4);
      const report = JSON.parse(result.stdout);
      expect(report.verdict.result).toBe('fail');
      expect(report.verdict.checks.map((c: { target: string }) => c.target)).toEqual(['a', 'b']);
      expect(report.compare.baseline).toBe('a');
      expect(report.provenance.load).toEqual([]);

      const silent = await runCli(['run', '--target', `gone=127.0.0.1:${dead}`, '--count', '3', '--rate', '100', '--timeout', '200ms',
        '--loss-after', '500ms', '--max-loss', '1%', '--quiet']);
      expect(silent.code).toBe(1);
      expect(silent.stderr).toMatch(/^verdict: FAIL: gone loss 100\.000% > limit 1\.000%/m);
    } finally {
      await agent.stop();
    }
  });

  it('soak: the verdict judges the whole soak when stopped (alerts keep their meaning)', async () => {
    const agent = await startAgent();
    try {
      const soak = spawnCli(['soak', '--target', `g=127.0.0.1:${agent.port}`, '--interval', '1s', '--alert-max', '1ns', '--max-rtt', '1ns',
        '--json', '-']);
      // an interval closed with replies in it (the status line says so each second)
      await waitFor(() => /ALERT g: max RTT/.test(soak.stderr()), { what: () => `an alert in: ${soak.stderr()}`, timeoutMs: 30_000 });
      soak.child.kill('SIGINT');
      expect(await soak.exited, soak.stderr()).toBe(4);
      const report = JSON.parse(soak.stdout());
      expect(report.soak.alerts).toBeGreaterThan(0);
      expect(report.verdict).toMatchObject({ result: 'fail', checks: [{ limit: 'max-rtt', threshold: 1 }] });
      expect(report.provenance.command_line).toContain('--max-rtt');
    } finally {
      await agent.stop();
    }
  });
});

describe('report of soak logs: the soaks that wrote them, where known', () => {
  it('soak --hlog DIR records its provenance beside the logs (a resumed soak adds one); report DIR shows it in JSON, text and HTML', async () => {
    const agent = await startAgent();
    const logs = join(dir, 'hlog');
    const soakOnce = async (extra: string[]): Promise<void> => {
      const soak = spawnCli(['soak', '--target', `g=127.0.0.1:${agent.port}`, '--interval', '1s', '--hlog', logs, '--rt-priority', '5', ...extra]);
      await waitFor(() => lastStatusReceived(soak.stderr()) > 0 && existsSync(join(logs, 'rtprobe-provenance.json')),
        { what: () => `replies and the provenance file: ${soak.stderr()}`, timeoutMs: 30_000 });
      soak.child.kill('SIGTERM');
      expect(await soak.exited, soak.stderr()).toBe(0);
    };
    try {
      await soakOnce([]);
      await soakOnce(['--resume']);
    } finally {
      await agent.stop();
    }
    const json = await runCli(['report', logs, '--json', '-']);
    expect(json.code, json.stderr).toBe(0);
    const { provenance } = JSON.parse(json.stdout);
    expect(provenance).toHaveLength(2);
    expect(provenance[0]).toMatchObject({
      rtprobe_version: PACKAGE_VERSION, command_line: ['rtprobe', 'soak', '--target', expect.any(String), '--interval', '1s', '--hlog', logs, '--rt-priority', '5'],
      host: { name: hostname(), kernel: KERNEL, clock_source: CLOCKSOURCE }, rt: { rt_priority: { requested: 5 } },
    });
    expect(provenance[1].command_line.at(-1)).toBe('--resume');
    const text = await runCli(['report', join(logs, readdirSync(logs).find((f) => f.endsWith('.hlog')) ?? '')]);
    expect(text.stdout).toMatch(/^written by soak 1 of 2:\n  rtprobe \S+ \(node \S+\): rtprobe soak --target/);
    expect(text.stdout).toContain(`  host ${hostname()}: kernel ${KERNEL}`);
    const html = join(dir, 'report.html');
    expect((await runCli(['report', logs, '--html', html])).code).toBe(0);
    expect(readFileSync(html, 'utf8').match(/<h2>Provenance<\/h2>/g)).toHaveLength(2);
  });
});

describe('output paths are checked before the first probe (exit 2)', () => {
  it.each([
    ['run --json', ['run', '--json', '/nonexistent-18/r.json'], /--json: the directory '\/nonexistent-18' does not exist/],
    ['compare --html', ['compare', '--target', 'b=127.0.0.1:9', '--html', tmpdir()], /--html: '.*' is a directory/],
    ['compare --hgrm', ['compare', '--target', 'b=127.0.0.1:9', '--hgrm', '/proc/version/x'], /--hgrm: cannot create the directory/],
    ['soak --events', ['soak', '--events', '/nonexistent-18/e.jsonl'], /--events: the directory '\/nonexistent-18' does not exist/],
    ['soak --hlog', ['soak', '--hlog', '/proc/version/logs'], /--hlog/],
  ])('%s to a path that cannot be written: exit 2, and the agent saw no probe', async (_name, args, message) => {
    const agent = await startAgent();
    const [command, ...rest] = args;
    const result = await runCli([command ?? '', '--target', `a=127.0.0.1:${agent.port}`, ...rest, '--count', '5'].filter((a) => !(command === 'soak' && (a === '--count' || a === '5'))));
    const ended = await agent.stop();
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(agentReceived(ended.stdout)).toBe(0);
  });

  it('compare --hgrm DIR: created, DIR/TARGET.hgrm each, every path printed', async () => {
    const agent = await startAgent();
    try {
      const hgrm = join(dir, 'hgrm', 'compare');
      const result = await runCli(['compare', '--target', `pt=127.0.0.1:${agent.port}`, '--target', `emu=127.0.0.1:${agent.port}`,
        '--count', '20', '--rate', '200', '--hgrm', hgrm, '--quiet']);
      expect(result.code, result.stderr).toBe(0);
      expect(readdirSync(hgrm).sort()).toEqual(['emu.hgrm', 'pt.hgrm']);
      expect(result.stderr).toContain(`rtprobe compare: wrote ${join(hgrm, 'pt.hgrm')}\n`);
      expect(result.stderr).toContain(`rtprobe compare: wrote ${join(hgrm, 'emu.hgrm')}\n`);
    } finally {
      await agent.stop();
    }
  });
});

describe('bad values named as such (real CLI)', () => {
  it.each([
    [['run', '--target', '127.0.0.1', '--rate', '-5'], "rtprobe run: --rate: '-5' must be above 0 Hz"],
    [['run', '--target', '300.1.1.1'], "rtprobe run: --target: '300.1.1.1' is not a valid IPv4 address"],
    [['run', '--target', '127.0.0.1', '--cpu', '999'], 'rtprobe run: --cpu: CPU 999 does not exist'],
    [['agent', '--cpu', '999'], 'rtprobe agent: --cpu: CPU 999 does not exist'],
    [['soak', '--target', '127.0.0.1', '--interval', '-1s'], "rtprobe soak: --interval: '-1s' must be above 0"],
    [['report', tmpdir(), '--json', 'x.hlog'], "rtprobe report: --json: 'x.hlog' is an input"],
  ])('%j', async (args, message) => {
    const result = await runCli(args);
    expect(result.code).toBe(2);
    expect(result.stderr.startsWith(message), result.stderr).toBe(true);
  });

  const nobodyMissing = whySkip([!isRoot, 'needs root to drop to uid 65534'], [!has('setpriv'), 'needs setpriv (util-linux)']);
  it.skipIf(nobodyMissing !== null)(`EACCES on a port below 1024 names CAP_NET_BIND_SERVICE${skipNote(nobodyMissing)}`, async () => {
    for (const stamps of ['auto', 'user']) {
      const result = await runAsNobody(['agent', '--listen', '127.0.0.1:1', '--timestamps', stamps]);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/cannot listen on udp 127\.0\.0\.1:1: permission denied \(EACCES\); ports below 1024 need root or CAP_NET_BIND_SERVICE/);
    }
  });

  it('agent --interval still works, with a warning naming --stream-interval', async () => {
    const agent = await startAgent(['--interval', '2s', '--ws', '127.0.0.1:0', '--insecure-no-auth']);
    const ended = await agent.stop();
    expect(ended.stderr).toContain('warning: --interval is deprecated: write --stream-interval');
  });
});

