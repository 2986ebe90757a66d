import { performance } from 'node:perf_hooks';

/**
 * Waiting in tests: wait for the effect, not for a fixed time. A fixed sleep before an exact
 * assertion fails when the machine is slower than the sleep assumed (two busy cores under a
 * full test run); waitFor polls until the effect is there and, if it never comes, fails
 * saying what it waited for. Keep `sleep` for waits that are the test's subject: the length
 * of an outage, a window in which nothing more may arrive.
 */

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface WaitForOptions {
  /** what is awaited, for the timeout message ('3 completed intervals'); a function is called only then */
  what: string | (() => string);
  /** a bound for a failing test, not a time the test asserts on: be generous */
  timeoutMs: number;
  /** polling period, default 20 ms */
  everyMs?: number;
}

/** Polls `predicate` until it holds; throws `timed out after N ms waiting for WHAT` when it does not in time. */
export async function waitFor(predicate: () => boolean | Promise<boolean>, options: WaitForOptions): Promise<void> {
  const { timeoutMs, everyMs = 20 } = options;
  const deadline = performance.now() + timeoutMs;
  while (!(await predicate())) {
    if (performance.now() > deadline) {
      const what = typeof options.what === 'string' ? options.what : options.what();
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await sleep(everyMs);
  }
}
