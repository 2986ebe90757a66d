/** One point of a max-over-time series: the largest RTT among probes sent in [startMs, startMs + spanMs). */
export interface MaxPoint {
  startMs: number;
  spanMs: number;
  maxNs: number;
  count: number;
}

/**
 * Per-second maxima of a run in bounded memory: when the series reaches `capacity` points,
 * neighbours merge pairwise and each point then spans twice as long. A 16 h soak keeps the
 * same number of points as a minute, each covering more time; the true max is never lost.
 */
export class MaxOverTime {
  readonly points: MaxPoint[] = [];
  private spanMs: number;
  /** the point the last record() went to (forgotten when the points merge) */
  private lastPoint: MaxPoint | undefined;

  constructor(private readonly originMs: number, baseSpanMs = 1000, private readonly capacity = 2048) {
    this.spanMs = baseSpanMs;
  }

  record(atMs: number, valueNs: number): void {
    // Probes complete nearly in send order: most fall in the point the last one did.
    const last = this.lastPoint;
    if (last !== undefined && atMs >= last.startMs && atMs < last.startMs + last.spanMs) {
      last.count++;
      if (valueNs > last.maxNs) last.maxNs = valueNs;
      return;
    }
    let point = this.pointAt(atMs);
    if (!point && this.points.length >= this.capacity) {
      // merged, the series may hold this second's point after all
      this.halve();
      point = this.pointAt(atMs);
    }
    if (!point) {
      const startMs = this.originMs + Math.floor((atMs - this.originMs) / this.spanMs) * this.spanMs;
      point = { startMs, spanMs: this.spanMs, maxNs: valueNs, count: 0 };
      // Probes complete nearly in send order; keep the series sorted for the rare late one.
      const index = this.points.findLastIndex((p) => p.startMs < startMs) + 1;
      this.points.splice(index, 0, point);
    }
    point.count++;
    if (valueNs > point.maxNs) point.maxNs = valueNs;
    this.lastPoint = point;
  }

  private pointAt(atMs: number): MaxPoint | undefined {
    const startMs = this.originMs + Math.floor((atMs - this.originMs) / this.spanMs) * this.spanMs;
    // From the newest back, and only as far as the series is sorted past startMs: a new
    // second (the common case, once a second per target) looks at one point, not at all of
    // them. The whole walk had cost a look at every point, up to 2048 in a long soak, and a
    // boxed number per look in this rarely run (never optimized) code: 100 B a probe.
    for (let i = this.points.length - 1; i >= 0; i--) {
      const point = this.points[i] as MaxPoint;
      if (point.startMs === startMs) return point;
      if (point.startMs < startMs) break;
    }
    return undefined;
  }

  private halve(): void {
    this.spanMs *= 2;
    this.lastPoint = undefined;
    const merged: MaxPoint[] = [];
    for (const p of this.points) {
      const startMs = this.originMs + Math.floor((p.startMs - this.originMs) / this.spanMs) * this.spanMs;
      const last = merged[merged.length - 1];
      if (last && last.startMs === startMs) {
        last.maxNs = Math.max(last.maxNs, p.maxNs);
        last.count += p.count;
      } else {
        merged.push({ startMs, spanMs: this.spanMs, maxNs: p.maxNs, count: p.count });
      }
    }
    this.points.splice(0, this.points.length, ...merged);
  }
}
