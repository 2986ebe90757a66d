/**
 * Merges a tool's rounds into one summary. Tools that report samples are merged exactly
 * (one histogram over every sample of every round). rtprobe reports percentiles only, so
 * its rounds are merged approximately: mean of the per-round p50/p99/p99.9, max of maxima.
 */
import { newRttHistogram, recordAll, summarize } from './stats.js';
import type { Percentiles, RoundResult, ToolId } from './tool-result.js';

export type MergeMethod = 'all samples' | 'mean of round percentiles, max of maxima';

export interface ToolSummary {
  tool: ToolId;
  stamps: string;
  rounds: number;
  okRounds: number;
  notes: string[];
  rtt?: Percentiles;
  merged?: MergeMethod;
  sent: number;
  received: number;
  lossPct: number;
  /** probes sent per second of client send time */
  rateHz: number;
  sendError?: { p99?: number; max: number };
  /** client CPU per 1000 probes, ms */
  cpuMsPer1k?: number;
}

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

export function summarizeTool(tool: ToolId, rounds: readonly RoundResult[]): ToolSummary {
  const ok = rounds.filter((r) => r.ok);
  const notes = [...new Set(rounds.filter((r) => !r.ok && r.note).map((r) => r.note ?? ''))];
  const stamps = [...new Set(ok.map((r) => r.stamps))].join(' / ') || (rounds[0]?.stamps ?? '');
  const sent = ok.reduce((a, r) => a + r.sent, 0);
  const received = ok.reduce((a, r) => a + r.received, 0);
  const durationS = ok.reduce((a, r) => a + r.durationS, 0);
  const s: ToolSummary = {
    tool,
    stamps,
    rounds: rounds.length,
    okRounds: ok.length,
    notes,
    sent,
    received,
    lossPct: sent > 0 ? (100 * (sent - received)) / sent : NaN,
    rateHz: durationS > 0 ? sent / durationS : NaN,
  };
  if (ok.length === 0) return s;

  if (ok.every((r) => r.rttNs)) {
    const h = newRttHistogram();
    for (const r of ok) recordAll(h, r.rttNs ?? []);
    s.rtt = summarize(h);
    s.merged = 'all samples';
  } else if (ok.every((r) => r.rtt)) {
    const ps = ok.map((r) => r.rtt as Percentiles);
    s.rtt = {
      count: ps.reduce((a, p) => a + p.count, 0),
      p50: mean(ps.map((p) => p.p50)),
      p99: mean(ps.map((p) => p.p99)),
      p99_9: mean(ps.map((p) => p.p99_9)),
      max: Math.max(...ps.map((p) => p.max)),
    };
    s.merged = 'mean of round percentiles, max of maxima';
  }

  const se = ok.map((r) => r.sendError).filter((e) => e !== undefined);
  if (se.length === ok.length) {
    const p99s = se.map((e) => e.p99).filter((v): v is number => v !== undefined && Number.isFinite(v));
    s.sendError = { max: Math.max(...se.map((e) => e.max)) };
    if (p99s.length === se.length) s.sendError.p99 = mean(p99s);
  }

  const cpu = ok.map((r) => r.clientCpuS);
  if (sent > 0 && cpu.every((c) => c !== undefined && Number.isFinite(c))) {
    s.cpuMsPer1k = (1e6 * cpu.reduce((a: number, c) => a + (c ?? 0), 0)) / sent;
  }
  return s;
}
