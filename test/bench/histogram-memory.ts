/**
 * Issue 16: what one latency histogram costs (1000 targets is a goal of issue 15). Bytes are
 * read from the process's array buffers around allocating many histograms of each kind, and
 * per target as the controller holds them (run-wide, per interval, the agent's view).
 * Standalone: `npx tsx test/bench/histogram-memory.ts`.
 */
import { pathToFileURL } from 'node:url';
import { LatencyHistogram, type CountRange } from '../../shared/histogram/latency-histogram.js';
import { TargetStats } from '../../controller/recording/target-stats.js';
import { AgentView } from '../../controller/agent-stream/agent-view.js';

export interface HistogramMemoryResult {
  bytesPerHistogram: Record<CountRange, number>;
  /** TargetStats (run-wide and interval histograms) plus an AgentView (--agent-ws) */
  bytesPerTarget: number;
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

export function measureHistogramMemory(): HistogramMemoryResult {
  // the smallest matcher: its ring is the rate's business, not the histograms'
  const matcher = { capacity: 16, timeoutNs: 1e9, lossAfterNs: 3_000_000_000n };
  const target = { name: 't', address: '127.0.0.1', port: 1, family: 4, mode: 'udp' } as const;
  const kept: unknown[] = [];
  const result = {
    bytesPerHistogram: {
      cumulative: bytesEach(() => new LatencyHistogram('cumulative'), kept),
      interval: bytesEach(() => new LatencyHistogram('interval'), kept),
    },
    bytesPerTarget: bytesEach(() => [new TargetStats(target, 1, matcher), new AgentView('ws://x')], kept),
  };
  kept.length = 0;
  return { ...result, recordNs: recordNs() };
}

export function renderHistogramMemory(result: HistogramMemoryResult): string {
  const kb = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;
  return [
    `histogram, cumulative (64-bit counts): ${kb(result.bytesPerHistogram.cumulative)}`,
    `histogram, interval (32-bit counts):   ${kb(result.bytesPerHistogram.interval)}`,
    `per target (run + intervals + agent view): ${kb(result.bytesPerTarget)}; 1000 targets: ${(result.bytesPerTarget * 1000 / 2 ** 20).toFixed(0)} MiB`,
    `record(): ${result.recordNs.toFixed(1)} ns per value`,
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(renderHistogramMemory(measureHistogramMemory()));
}
