/**
 * The pure side of the observer-effect row (issue 15): rtprobe's ICMP p50 over fping's, per
 * alternating pair of rounds, and the median of those ratios. A ratio above 1 with kernel
 * stamps (which bracket a shorter interval than fping's user-space send stamp) says the rig
 * itself delays the answer it measures.
 */
import { median } from './stats.js';

export interface P50Pair {
  rtprobeP50Ns?: number | undefined;
  fpingP50Ns?: number | undefined;
}

/** rtprobe p50 / fping p50; undefined when either is missing or fping's is not positive. */
export function p50Ratio(p: P50Pair): number | undefined {
  const a = p.rtprobeP50Ns;
  const b = p.fpingP50Ns;
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b <= 0) return undefined;
  return a / b;
}

export interface RatioSummary {
  /** one per pair, undefined where a side failed */
  ratios: (number | undefined)[];
  median?: number;
  min?: number;
  max?: number;
}

export function summarizeRatios(pairs: readonly P50Pair[]): RatioSummary {
  const ratios = pairs.map(p50Ratio);
  const ok = ratios.filter((r): r is number => r !== undefined);
  const s: RatioSummary = { ratios };
  const m = median(ok);
  if (m !== undefined) Object.assign(s, { median: m, min: Math.min(...ok), max: Math.max(...ok) });
  return s;
}

/** Which clock stamped each side, as the rounds themselves said (rtprobe's report, fping's method). */
export function stampsLine(pairs: readonly { rtprobe: { stamps: string }; fping: { stamps: string } }[]): string {
  const seen = (side: 'rtprobe' | 'fping'): string => [...new Set(pairs.map((p) => p[side].stamps))].join(' / ') || '?';
  return `  stamped by: rtprobe ${seen('rtprobe')}; fping ${seen('fping')}`;
}
