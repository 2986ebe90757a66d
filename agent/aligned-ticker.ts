/**
 * Calls `tick` just after every multiple of periodMs on the given clock, so that a tick falls
 * right after each interval boundary (intervals start at multiples of their length): the guest
 * timer's counts drained there go into the interval they were measured in, give or take the
 * event loop's lateness, not up to a whole period.
 */
export function startAlignedTicker(periodMs: number, nowMs: () => number, tick: (nowMs: number) => void): () => void {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const schedule = (): void => {
    const now = nowMs();
    const next = (Math.floor(now / periodMs) + 1) * periodMs;
    // +1: setTimeout counts whole ms and may round down; a tick before the boundary closes nothing.
    timer = setTimeout(() => {
      if (stopped) return;
      tick(nowMs());
      schedule();
    }, Math.ceil(next - now) + 1);
  };
  schedule();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
