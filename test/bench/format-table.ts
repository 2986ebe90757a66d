/** Plain-text tables: numbers right-aligned, the listed text columns left-aligned. */

export function formatTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  leftAligned: readonly number[] = [0],
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (leftAligned.includes(i) ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(header), rule, ...rows.map(line)].join('\n');
}

/** ns → µs text: one decimal below 10 ms, whole µs above. */
export function us(ns: number | undefined): string {
  if (ns === undefined || !Number.isFinite(ns)) return '–';
  const v = ns / 1000;
  return v < 10_000 ? v.toFixed(1) : v.toFixed(0);
}

export function fixed(v: number | undefined, digits: number): string {
  return v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits);
}
