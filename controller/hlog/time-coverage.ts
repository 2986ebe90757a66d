/**
 * The time covered by intervals, as disjoint ranges: the holes between them are times nothing
 * was logged (the process was down, or a file is missing). Memory grows with the holes, not
 * with the intervals, and intervals may come in any order (several files, several tags).
 */
export class TimeCoverage {
  /** sorted, disjoint [startMs, endMs] */
  private readonly ranges: [number, number][] = [];

  /** Adds one interval; touching or nearly touching ranges (within toleranceMs) merge. */
  add(startMs: number, endMs: number, toleranceMs: number): void {
    // first range that ends at or after this start (minus tolerance)
    let low = 0;
    let high = this.ranges.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if ((this.ranges[middle]?.[1] ?? 0) + toleranceMs < startMs) low = middle + 1;
      else high = middle;
    }
    const first = low;
    let mergedStart = startMs;
    let mergedEnd = endMs;
    let last = first;
    while (last < this.ranges.length) {
      const range = this.ranges[last];
      if (range === undefined || range[0] > mergedEnd + toleranceMs) break;
      mergedStart = Math.min(mergedStart, range[0]);
      mergedEnd = Math.max(mergedEnd, range[1]);
      last++;
    }
    this.ranges.splice(first, last - first, [mergedStart, mergedEnd]);
  }

  /** The uncovered spans between the first and the last interval. */
  holes(): { fromMs: number; toMs: number }[] {
    const holes: { fromMs: number; toMs: number }[] = [];
    for (let index = 1; index < this.ranges.length; index++) {
      const before = this.ranges[index - 1];
      const after = this.ranges[index];
      if (before && after) holes.push({ fromMs: before[1], toMs: after[0] });
    }
    return holes;
  }

  get firstMs(): number | null {
    return this.ranges[0]?.[0] ?? null;
  }

  get lastMs(): number | null {
    return this.ranges.at(-1)?.[1] ?? null;
  }
}
