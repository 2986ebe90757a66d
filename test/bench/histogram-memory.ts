/**
 * Issue 16: what one latency histogram costs (1000 targets is a goal of issue 15). Bytes are
 * read from the process's array buffers around allocating many histograms of each kind, and
 * per target as the controller holds them (run-wide, per interval, the agent's view).
 * Standalone: `npx tsx test/bench/histogram-memory.ts`.
 */
import { pathToFileURL } from 'node:url';
import { LatencyHistogram } from '../../shared/histogram/latency-histogram.js';
import { TargetStats } from '../../controller/recording/target-stats.js';
import { AgentView } from '../../controller/agent-stream/agent-view.js';

export interface HistogramMemoryResult {
  /** one histogram that has recorded a value (an idle one has no counts array yet; 32-bit counts until they would wrap) */
  bytesPerHistogram: number;
  /** a target's histograms in use: run-wide and interval, per probe mode, with --agent-ws (clocks not synced) */
  bytesPerTarget: { udp: number; udpAgent: number; icmp: number };
  /** ns per record() of an in-range value, cumulative histogram */
  recordNs: number;
}

const SAMPLES = 200;

/** Array-buffer bytes of one `make()`; all samples stay alive so no collection hides them. */
function bytesEach(make: () => unknown, kept: unknown[]): number {
  const before = process.memoryUsage().arrayBuffers;
  for (let i = 0; i < SAMPLES; i++) kept.push(make());
  return Math.round((process.memoryUsage().arrayBuffers - before) / SAMPLES);
}

function recordNs(): number {
  const histogram = new LatencyHistogram();
  const values = Array.from({ length: 1000 }, (_, i) => 1_000 + ((i * 7919) % 100_000) * 37);
  const rounds = 2_000;
  const started = process.hrtime.bigint();
  for (let round = 0; round < rounds; round++) for (const value of values) histogram.record(value);
  return Number(process.hrtime.bigint() - started) / (rounds * values.length);
}

const used = (histogram: LatencyHistogram): void => histogram.record(1_000);

/** A target after its first probes: the histograms its mode uses have their counts arrays. */
function targetInUse(mode: 'udp' | 'icmp', agentWs: boolean): TargetStats {
  const stats = new TargetStats({ name: 't', address: '127.0.0.1', port: mode === 'udp' ? 1 : 0, family: 4, mode }, 1,
    { capacity: 16, timeoutNs: 1e9, lossAfterNs: 3_000_000_000n });
  for (const histogram of [stats.rtt, stats.sendError, stats.interval.histograms.rtt, stats.interval.histograms.send_error]) used(histogram);
  if (mode === 'udp') for (const histogram of [stats.turnaround, stats.network, stats.interval.histograms.turnaround]) used(histogram);
  if (agentWs) {
    // the agent's forward one-way delay stays idle unless it declares synced clocks
    stats.agent = new AgentView('ws://127.0.0.1:7708/v1/stream');
    for (const histogram of [stats.agent.histograms.ipdv, stats.agent.histograms.turnaround, stats.agent.intervalIpdv]) used(histogram);
  }
  return stats;
}

export function measureHistogramMemory(): HistogramMemoryResult {
  const kept: unknown[] = [];
  const histogram = (): LatencyHistogram => {
    const h = new LatencyHistogram();
    used(h);
    return h;
  };
  const result = {
    bytesPerHistogram: bytesEach(histogram, kept),
    // the matcher's ring (16 slots here) is the rate's business, not the histograms'
    bytesPerTarget: {
      udp: bytesEach(() => targetInUse('udp', false), kept),
      udpAgent: bytesEach(() => targetInUse('udp', true), kept),
      icmp: bytesEach(() => targetInUse('icmp', false), kept),
    },
  };
  kept.length = 0;
  return { ...result, recordNs: recordNs() };
}

export function renderHistogramMemory(result: HistogramMemoryResult): string {
  const kb = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;
  return [
    `histogram (32-bit counts, widened to 64-bit before one could wrap): ${kb(result.bytesPerHistogram)}`,
    ...([['UDP', result.bytesPerTarget.udp], ['UDP + --agent-ws', result.bytesPerTarget.udpAgent], ['ICMP', result.bytesPerTarget.icmp]] as const)
      .map(([kind, bytes]) => `per ${kind} target in use: ${kb(bytes)}; 1000 targets: ${(bytes * 1000 / 2 ** 20).toFixed(0)} MiB`),
    `record(): ${result.recordNs.toFixed(1)} ns per value`,
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(renderHistogramMemory(measureHistogramMemory()));
}
