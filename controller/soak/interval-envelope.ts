/** What one closed soak interval of one target adds to the dashboard's timeline. */
export interface IntervalSample {
  startMs: number;
  endMs: number;
  /** the interval's max RTT; null when no reply came back in it */
  maxNs: number | null;
  sent: number;
  lost: number;
  /** the kinds of alert it fired */
  alerts: readonly string[];
}

/** One bucket of consecutive intervals: the envelope of their maxima and their summed counts. */
export interface EnvelopeBucket {
  startMs: number;
  endMs: number;
  intervals: number;
  /** the largest interval max in the bucket (the worst case is never averaged away) */
  maxNs: number | null;
  /** the smallest interval max in the bucket: with maxNs, the band the interval maxima moved in */
  lowMaxNs: number | null;
  sent: number;
  lost: number;
  /** the largest lost/sent of one interval in the bucket (null: nothing sent): a lossy interval is not averaged away either */
  worstLossRatio: number | null;
  /** alerts fired in the bucket, by kind */
  alerts: Record<string, number>;
}

const larger = (a: number | null, b: number | null): number | null => (a === null ? b : b === null ? a : Math.max(a, b));
const smaller = (a: number | null, b: number | null): number | null => (a === null ? b : b === null ? a : Math.min(a, b));

function merge(a: EnvelopeBucket, b: EnvelopeBucket): EnvelopeBucket {
  const alerts = { ...a.alerts };
  for (const [kind, n] of Object.entries(b.alerts)) alerts[kind] = (alerts[kind] ?? 0) + n;
  return {
    startMs: a.startMs, endMs: b.endMs, intervals: a.intervals + b.intervals,
    maxNs: larger(a.maxNs, b.maxNs), lowMaxNs: smaller(a.lowMaxNs, b.lowMaxNs), sent: a.sent + b.sent, lost: a.lost + b.lost,
    worstLossRatio: larger(a.worstLossRatio, b.worstLossRatio), alerts,
  };
}

/**
 * The per-interval series of one target over a whole soak in a fixed number of buckets: when
 * they are all used, neighbours merge pairwise and each bucket then holds twice as many
 * intervals. A 16 h soak at 1 s intervals keeps as many buckets as its first minutes did.
 */
export class IntervalEnvelope {
  readonly buckets: EnvelopeBucket[] = [];
  /** intervals per bucket: 1, then 2, 4, … as the soak grows */
  private perBucket = 1;

  constructor(private readonly capacity = 480) {
    if (capacity < 2 || capacity % 2 !== 0) throw new Error('IntervalEnvelope: capacity must be even and at least 2');
  }

  get intervalsPerBucket(): number {
    return this.perBucket;
  }

  add(sample: IntervalSample): void {
    const alerts: Record<string, number> = {};
    for (const kind of sample.alerts) alerts[kind] = (alerts[kind] ?? 0) + 1;
    const bucket: EnvelopeBucket = {
      startMs: sample.startMs, endMs: sample.endMs, intervals: 1, maxNs: sample.maxNs, lowMaxNs: sample.maxNs,
      sent: sample.sent, lost: sample.lost, worstLossRatio: sample.sent === 0 ? null : sample.lost / sample.sent, alerts,
    };
    const last = this.buckets.at(-1);
    if (last && last.intervals < this.perBucket) {
      this.buckets[this.buckets.length - 1] = merge(last, bucket);
      return;
    }
    if (this.buckets.length === this.capacity) this.halve();
    this.buckets.push(bucket);
  }

  private halve(): void {
    const merged: EnvelopeBucket[] = [];
    for (let i = 0; i < this.buckets.length; i += 2) {
      const a = this.buckets[i];
      const b = this.buckets[i + 1];
      if (a) merged.push(b ? merge(a, b) : a);
    }
    this.buckets.splice(0, this.buckets.length, ...merged);
    this.perBucket *= 2;
  }
}
