/** Sequence numbers remembered behind the highest one seen: reordering deeper than this is refused as a replay. */
export const REPLAY_WINDOW = 1024;

/**
 * The anti-replay window of one session (as IPsec's, RFC 4303 §3.4.3): a bitmap of the last
 * REPLAY_WINDOW sequence numbers below the highest seen. A number already marked, or one too
 * old to judge, is a replay.
 */
export class ReplayWindow {
  private top = -1n;
  private readonly bits = new Uint32Array(REPLAY_WINDOW / 32);

  /** True when `seq` was answered before or is older than the window. */
  seen(seq: bigint): boolean {
    if (seq > this.top) return false;
    if (this.top - seq >= BigInt(REPLAY_WINDOW)) return true;
    const bit = Number(seq % BigInt(REPLAY_WINDOW));
    return ((this.bits[bit >>> 5] ?? 0) & (1 << (bit & 31))) !== 0;
  }

  mark(seq: bigint): void {
    if (seq > this.top) {
      const advance = seq - this.top;
      if (advance >= BigInt(REPLAY_WINDOW) || this.top < 0n) {
        this.bits.fill(0);
      } else {
        for (let s = this.top + 1n; s < seq; s++) this.clear(Number(s % BigInt(REPLAY_WINDOW)));
      }
      this.clear(Number(seq % BigInt(REPLAY_WINDOW)));
      this.top = seq;
    }
    const bit = Number(seq % BigInt(REPLAY_WINDOW));
    this.bits[bit >>> 5] = (this.bits[bit >>> 5] ?? 0) | (1 << (bit & 31));
  }

  private clear(bit: number): void {
    this.bits[bit >>> 5] = (this.bits[bit >>> 5] ?? 0) & ~(1 << (bit & 31));
  }
}
