import { escapeHtml } from './svg-plots.js';

/**
 * Latency cells of the HTML reports' tables: one unit per column (a column that reads
 * `8889.2 µs` beside `11.986 ms` makes the eye compare digits, not values), and percentiles the
 * samples cannot resolve shown as "= max" rather than as a number that looks measured.
 */

export type NsUnit = 'µs' | 'ms' | 's';

const DIVISOR: Record<NsUnit, number> = { 'µs': 1e3, ms: 1e6, s: 1e9 };
const DIGITS: Record<NsUnit, number> = { 'µs': 1, ms: 3, s: 3 };

/** The unit formatNs would pick for the largest value of the column (µs below 10 ms, ms below 1 s, s above). */
export function columnUnit(values: readonly (number | null)[]): NsUnit {
  const largest = Math.max(0, ...values.flatMap((v) => (v === null || !Number.isFinite(v) ? [] : [Math.abs(v)])));
  if (largest < 10e6) return 'µs';
  return largest < 1e9 ? 'ms' : 's';
}

/** ns in the given unit ("-" when there is none). */
export function formatNsIn(ns: number | null, unit: NsUnit): string {
  if (ns === null || !Number.isFinite(ns)) return '-';
  return `${(ns / DIVISOR[unit]).toFixed(DIGITS[unit])} ${unit}`;
}

/** The fewest samples that tell percentile p (e.g. 99.99) from the max: 1/(1 − p/100). */
export function samplesToResolve(percentile: number): number {
  return Math.round(100 / (100 - percentile));
}

/** Why pN of `count` samples is only the max, or null when the samples resolve it. */
export function unresolvedReason(percentile: number, count: number): string | null {
  const needed = samplesToResolve(percentile);
  if (count === 0 || count >= needed) return null;
  return `${count} samples: p${percentile} needs at least ${needed} to differ from the max; it is the max here`;
}

/** A right-aligned latency cell; `percentile` with `count` marks a value the samples cannot resolve. */
export function latencyCell(ns: number | null, unit: NsUnit, resolve?: { percentile: number; count: number }): string {
  const reason = resolve ? unresolvedReason(resolve.percentile, resolve.count) : null;
  if (reason !== null && ns !== null) return `<td class="num unresolved" title="${escapeHtml(reason)}">= max</td>`;
  return `<td class="num">${escapeHtml(formatNsIn(ns, unit))}</td>`;
}

/** The style of an unresolved cell, for the pages' CSS. */
export const LATENCY_CELL_STYLE = 'td.unresolved{color:#888;font-style:italic}';
