/** A token bucket: `ratePerS` tokens a second, at most `burst` saved up; it starts full. */
export class TokenBucket {
  private tokens: number;
  private lastMs: number;

  constructor(private readonly ratePerS: number, private readonly burst: number, nowMs: number) {
    this.tokens = burst;
    this.lastMs = nowMs;
  }

  /** Takes one token if there is one. */
  take(nowMs: number): boolean {
    this.refill(nowMs);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Full again: the source has been quiet for burst / rate seconds and can be forgotten. */
  isFull(nowMs: number): boolean {
    this.refill(nowMs);
    return this.tokens >= this.burst;
  }

  private refill(nowMs: number): void {
    // A monotonic clock never goes back; max() keeps a bucket sane if a caller's does.
    const elapsedMs = Math.max(0, nowMs - this.lastMs);
    this.tokens = Math.min(this.burst, this.tokens + (elapsedMs * this.ratePerS) / 1000);
    this.lastMs = Math.max(this.lastMs, nowMs);
  }
}
