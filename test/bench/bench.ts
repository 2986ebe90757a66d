/**
 * `npm run bench [-- --seconds 20 --rounds 3 --quick]`: rtprobe (kernel and user stamps)
 * against irtt, sockperf, ping and fping at 100 Hz, on loopback and (as root) on a veth pair
 * between two namespaces this process creates and removes. Tools alternate within each
 * round on the same path, so they share the machine's noise. Then, on loopback, the rate /
 * CPU / RSS capacity of one controller. Prints tables; writes test/bench/results/last.json.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { summarizeTool } from './aggregate.js';
import type { ToolSummary } from './aggregate.js';
import { parseArgs, USAGE } from './args.js';
import type { BenchArgs } from './args.js';
import { loopbackPath, vethPath } from './bench-path.js';
import type { BenchPath } from './bench-path.js';
import { measureCapacity, renderCapacity } from './capacity.js';
import type { CapacityResult } from './capacity.js';
import { measureSoakRss, renderSoakRss, type SoakRssResult } from './soak-rss.js';
import { measureRobustness, renderRobustness, type RobustnessResult } from './fuzz-robustness.js';
import { checkTargets, ratios } from './compare.js';
import { findExecutable } from './find-exe.js';
import { fixed } from './format-table.js';
import { hostInfo } from './host-info.js';
import { createVethPair, removeStaleNamespaces, removeVethPair } from './netns.js';
import type { VethPair } from './netns.js';
import { renderRatios, renderReflectors, renderTargets, renderToolTable, toolLabel } from './path-report.js';
import { killAllNow } from './proc.js';
import { REPO_ROOT, rtprobeCliProblem } from './rtprobe-runner.js';
import type { RunSpec } from './run-spec.js';
import type { RoundResult } from './tool-result.js';
import { ROW_ORDER, roundOrder, TOOLS } from './tools.js';
import type { ToolDef } from './tools.js';
import { measureStartup, renderStartup, type StartupResult } from './startup.js';
import { measureCpuPerProbe, renderCpuPerProbe, type CpuPerProbeResult } from './cpu-per-probe.js';
import { measureHistogramMemory, renderHistogramMemory, type HistogramMemoryResult } from './histogram-memory.js';
import { measureJsPathCost, renderJsPathCost, type JsPathCostResult } from './js-path-cost.js';
import { measureManyTargets, renderManyTargets, type ManyTargetsResult } from './many-targets.js';
import { measureObserverEffect, observerSkipReason, renderObserverEffect, type ObserverResult } from './observer-effect.js';
import { measureQemuObserver, qemuObserverSkipReason, renderQemuObserver, type QemuObserverResult } from './qemu-observer.js';

const RATE_HZ = 100;
/** measured: 10^5 inputs per decoder took 1.8 min here, mostly the decoders */
const FUZZ_MIN_PER_MILLION = 15;
const INSTALL_HINT = 'apt-get install irtt sockperf iputils-ping fping';

let pair: VethPair | undefined;
let tmpDir: string | undefined;
let keepTmp = false;

/** Synchronous, idempotent: safe from exit and signal handlers. */
function cleanup(): void {
  killAllNow();
  if (pair) {
    removeVethPair(pair);
    pair = undefined;
  }
  if (tmpDir && !keepTmp) {
    rmSync(tmpDir, { recursive: true, force: true });
    tmpDir = undefined;
  }
}

function installCleanupHandlers(): void {
  process.on('exit', cleanup);
  const signals: [NodeJS.Signals, number][] = [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]];
  for (const [sig, n] of signals) {
    process.on(sig, () => {
      console.error(`\n${sig}: stopping children and removing the bench's namespaces`);
      cleanup();
      process.exit(128 + n);
    });
  }
}

function log(s: string): void {
  console.log(s);
}

function progress(path: BenchPath, round: number, rounds: number, r: RoundResult): void {
  const head = `[${path.name} ${round + 1}/${rounds}] ${toolLabel(r.tool).padEnd(15)}`;
  if (!r.ok) {
    log(`${head} FAILED: ${r.note ?? ''}`);
    return;
  }
  const n = r.rttNs?.length ?? r.rtt?.count ?? 0;
  log(`${head} ${r.received}/${r.sent} replies, ${n} RTTs in ${fixed(r.durationS, 1)} s${r.extra?.['warning'] ? `  (${String(r.extra['warning'])})` : ''}`);
}

async function runPath(path: BenchPath, tools: readonly ToolDef[], args: BenchArgs, dir: string): Promise<RoundResult[]> {
  const all: RoundResult[] = [];
  for (let round = 0; round < args.rounds; round++) {
    for (const tool of roundOrder(tools, round)) {
      const spec: RunSpec = { path, round, seconds: args.seconds, rateHz: RATE_HZ, tmpDir: dir };
      let results: RoundResult[];
      try {
        results = await tool.run(spec);
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        results = [{ tool: tool.id, round, ok: false, note: msg, sent: 0, received: 0, durationS: 0, stamps: '' }];
      }
      for (const r of results) {
        progress(path, round, args.rounds, r);
        all.push(r);
      }
    }
  }
  return all;
}

interface PathOutput {
  path: string;
  serverHost: string;
  summaries: ToolSummary[];
  ratios: ReturnType<typeof ratios>;
  targets: ReturnType<typeof checkTargets>;
  /** per-round results, samples replaced by their count */
  rounds: Omit<RoundResult, 'rttNs'>[];
}

function reportPath(path: BenchPath, results: readonly RoundResult[], args: BenchArgs): PathOutput {
  const ids = ROW_ORDER.filter((id) => results.some((r) => r.tool === id));
  const summaries = ids.map((id) => summarizeTool(id, results.filter((r) => r.tool === id)));
  const rs = ratios(summaries);
  const ts = checkTargets(summaries);
  log('');
  log(`=== ${path.name}: ${args.rounds} round(s) × ${args.seconds} s at ${RATE_HZ} Hz per tool, to ${path.serverHost}${path.clientNetns ? ` (clients in ${path.clientNetns}, servers in ${path.serverNetns})` : ''}`);
  log(renderToolTable(summaries));
  for (const s of summaries) {
    for (const n of s.notes) log(`  ${toolLabel(s.tool)}: ${n.split('\n').join('\n    ')}`);
  }
  const rt = summaries.find((s) => s.merged && s.merged !== 'all samples');
  if (rt) {
    log(`  rtprobe rows: ${rt.merged} over the rounds (rtprobe reports percentiles, not samples); peers: all samples in one HdrHistogram.`);
  }
  for (const l of renderReflectors(results)) log(l);
  log('  irtt = client receive − send like the others; "irtt (own rtt)" = irtt\'s figure, which subtracts the server\'s processing time.');
  log('  send err = send time − schedule: rtprobe send_error_ns; irtt its timer error (max only). ping/fping/sockperf report none.');
  log('  cli CPU = client process user+system per 1000 probes, start-up included (Node + tsx for rtprobe).');
  const kernelRow = summaries.find((s) => s.tool === 'rtprobe-kernel');
  if (kernelRow?.rtt && !kernelRow.stamps.startsWith('kernel')) {
    log(`  NOTE: "rtprobe kernel" asked for kernel stamps but got ${kernelRow.stamps}.`);
  }
  log('');
  log(renderRatios(rs));
  log('targets (issue 3; figures, not assertions):');
  log(renderTargets(ts));
  const rounds = results.map((r) => {
    const { rttNs, ...rest } = r;
    return rttNs ? { ...rest, extra: { ...rest.extra, samples: rttNs.length } } : rest;
  });
  return { path: path.name, serverHost: path.serverHost, summaries, ratios: rs, targets: ts, rounds };
}

async function main(): Promise<number> {
  let args: BenchArgs;
  try {
    const argv = process.argv.slice(2);
    if (argv.includes('--help') || argv.includes('-h')) {
      log(USAGE);
      return 0;
    }
    args = parseArgs(argv);
  } catch (e) {
    console.error(`${e instanceof Error ? e.message : String(e)}\n${USAGE}`);
    return 2;
  }
  keepTmp = args.keep;
  installCleanupHandlers();
  const started = new Date();

  // which tools can run
  const missing = TOOLS.filter((t) => t.exe && !findExecutable(t.exe));
  const tools = TOOLS.filter((t) => !missing.includes(t));
  if (missing.length > 0) {
    log(`not installed, skipped: ${missing.map((t) => t.exe).join(', ')} — install with: ${INSTALL_HINT}`);
  }
  const cliProblem = await rtprobeCliProblem();
  if (cliProblem) log(`${cliProblem}: its rows stay empty`);

  const paths: BenchPath[] = [];
  if (args.paths.includes('loopback')) paths.push(loopbackPath());
  if (args.paths.includes('veth')) {
    if (process.getuid?.() !== 0) {
      log('veth path skipped: it needs root (it creates two network namespaces and a veth pair)');
    } else if (!findExecutable('ip')) {
      log('veth path skipped: `ip` (iproute2) not installed');
    } else {
      const stale = removeStaleNamespaces();
      if (stale.length > 0) log(`removed namespaces left by an earlier, killed bench: ${stale.join(', ')}`);
      try {
        pair = createVethPair();
        paths.push(vethPath(pair));
      } catch (e) {
        log(`veth path skipped: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }

  tmpDir = mkdtempSync(join(tmpdir(), 'rtpb-'));
  const perRound = tools.length * args.seconds * 1.15 + 10;
  log(`rtprobe bench: ${paths.map((p) => p.name).join(' + ')}; ${args.rounds} round(s) × ${args.seconds} s × ${tools.length} tools` +
    `${args.capacity && !cliProblem ? ' + capacity' : ''}; about ${Math.ceil((perRound * args.rounds * paths.length) / 60 + (args.capacity ? (args.quick ? 2.5 : 5) : 0) + (args.paths.includes('veth') ? (args.quick ? 0.5 : 1.5) : 0) + (args.paths.includes('qemu') ? (args.quick ? 1 : 4) : 0) + FUZZ_MIN_PER_MILLION * (args.fuzzCount / 1e6))} min`);

  const output: { paths: PathOutput[]; capacity?: CapacityResult; soakRss?: SoakRssResult; robustness?: RobustnessResult; startup?: StartupResult; cpuPerProbe?: CpuPerProbeResult;
    histogramMemory?: HistogramMemoryResult; jsPathCost?: JsPathCostResult; manyTargets?: ManyTargetsResult; observerEffect?: ObserverResult; observerEffectSkipped?: string;
    qemuObserver?: QemuObserverResult; qemuObserverSkipped?: string; } = { paths: [] };
  for (const path of paths) {
    log('');
    log(`--- ${path.name} ---`);
    const results = await runPath(path, tools, args, tmpDir);
    output.paths.push(reportPath(path, results, args));
  }

  if (args.capacity && args.paths.includes('loopback')) {
    log('');
    if (cliProblem) {
      log('=== capacity (loopback): skipped, rtprobe CLI not usable');
    } else {
      log('=== capacity (loopback, one controller, kernel stamps)');
      try {
        output.capacity = await measureCapacity(loopbackPath(), 'kernel', tmpDir, {
          stepSeconds: args.quick ? 2 : 5,
          rssCounts: args.quick ? [10_000, 100_000] : [10_000, 1_000_000],
          rssBudgetS: args.quick ? 20 : 180,
          log,
        });
        log('');
        log(renderCapacity(output.capacity));
      } catch (e) {
        log(`capacity failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }
  if (args.capacity && args.paths.includes('loopback') && !cliProblem) {
    const seconds = args.quick ? 3 : 10;
    log('');
    log(`=== many targets at 100 Hz (issue 15; loopback, one agent on 0.0.0.0 answering 127.0.X.Y, kernel stamps, ${seconds} s a step)`);
    try {
      output.manyTargets = await measureManyTargets({ seconds, tmpDir, log });
      log(renderManyTargets(output.manyTargets));
    } catch (e) {
      log(`many targets failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  if (args.capacity && args.paths.includes('loopback') && !cliProblem) {
    // Issue 7: an accelerated soak, RSS while the probe count grows 10x. The first checkpoint
    // is past the warm-up: the probe ring ((--loss-after + 2 s) × rate = 240 000 slots) is
    // touched page by page until it wraps, so RSS rises during the first 12 s by design.
    const checkpoints = args.quick ? [300_000, 600_000] : [1_000_000, 10_000_000];
    log('');
    log(`=== accelerated soak (loopback, kernel stamps, 20 kHz): RSS at ${checkpoints.join(' / ')} probes`);
    try {
      output.soakRss = await measureSoakRss(checkpoints, 20_000);
      log(renderSoakRss(output.soakRss));
    } catch (e) {
      log(`accelerated soak failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  if (!cliProblem) {
    log('');
    log('=== CPU per probe at 100 Hz (issue 15), start-up excluded');
    try {
      output.cpuPerProbe = await measureCpuPerProbe(args.quick ? 1 : 2, args.quick ? 8 : 60, args.quick ? 3 : 60);
      log(renderCpuPerProbe(output.cpuPerProbe));
    } catch (e) {
      log(`CPU per probe failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  if (!cliProblem && args.paths.includes('veth')) {
    const pairs = args.quick ? 1 : 3;
    const seconds = args.quick ? 5 : 10;
    log('');
    log(`=== observer effect (issue 15): ICMP p50 to a namespace guest under competing CPU load, rtprobe vs fping, ${pairs} alternating pair(s) × ${seconds} s`);
    const why = observerSkipReason(pair);
    if (why) {
      output.observerEffectSkipped = why;
      log(`skipped: ${why}`);
    } else if (pair) {
      try {
        output.observerEffect = await measureObserverEffect(pair, { pairs, seconds, tmpDir, log });
        log(renderObserverEffect(output.observerEffect));
      } catch (e) {
        log(`observer effect failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }

  if (!cliProblem && args.paths.includes('qemu')) {
    const pairs = args.quick ? 1 : 4;
    const probes = args.quick ? 300 : 1000;
    log('');
    log(`=== observer effect (issue 15) against a real guest: ICMP p50 to a QEMU e1000, rtprobe vs fping, ${pairs} alternating pair(s) × ${probes} probes, CPUs free then one CPU for all`);
    const why = qemuObserverSkipReason();
    const result = why ? new Error(why) : await measureQemuObserver({ pairs, probes, tmpDir, log }).catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))));
    if (result instanceof Error) {
      output.qemuObserverSkipped = result.message;
      log(`skipped: ${result.message}`);
    } else {
      output.qemuObserver = result;
      log(renderQemuObserver(result));
    }
  }

  log('');
  log('=== start-up (issue 13): the checkout through tsx vs the bundle of npm run build');
  try {
    output.startup = await measureStartup(tmpDir);
    log(renderStartup(output.startup));
  } catch (e) {
    log(`start-up failed: ${e instanceof Error ? e.message : String(e)}`);
  }

  log('');
  log('=== histogram memory (issue 16): 1 ns .. 60 s, 3 digits');
  output.histogramMemory = measureHistogramMemory();
  log(renderHistogramMemory(output.histogramMemory));

  log('');
  log("=== the controller's JavaScript per probe (issue 15): packed native records -> RunState, no sockets");
  output.jsPathCost = measureJsPathCost();
  log(renderJsPathCost(output.jsPathCost));

  if (args.fuzzCount > 0) {
    log('');
    log(`=== robustness (issue 8): npm run fuzz -- --count ${args.fuzzCount}`);
    try {
      output.robustness = await measureRobustness(args.fuzzCount, tmpDir);
      log(renderRobustness(output.robustness));
    } catch (e) {
      log(`fuzz failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  const installed = new Set(tools.flatMap((t) => (t.exe ? [t.exe] : [])));
  const summary = {
    version: 1,
    started: started.toISOString(),
    finished: new Date().toISOString(),
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
    args,
    rate_hz: RATE_HZ,
    host: hostInfo(installed),
    skipped_tools: missing.map((t) => t.id),
    units: 'ns unless a name says otherwise',
    ...output,
  };
  const resultsDir = join(REPO_ROOT, 'test/bench/results');
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, 'last.json');
  writeFileSync(file, `${JSON.stringify(summary, null, 2)}\n`);
  log('');
  log(`JSON summary: ${file}`);
  if (keepTmp) log(`raw outputs kept in ${tmpDir}`);
  return 0;
}

let code = 1;
try {
  code = await main();
} catch (e) {
  console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
} finally {
  cleanup();
}
process.exitCode = code;
