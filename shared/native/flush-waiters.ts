import type { NativeEvent, NativeProbeSocket } from './native-addon.js';

/**
 * The flush() calls on one native socket that wait for its thread's answer. The thread
 * answers with a 'flushed' event after every event it had (calls close together share one,
 * which counts them); the oldest calls are answered first.
 */
export class FlushWaiters {
  private readonly waiting: (() => void)[] = [];
  private closed = false;

  /** Asks the thread; resolves once the events before the request have been handed over. */
  request(socket: Pick<NativeProbeSocket, 'flush'>): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      socket.flush();
    });
  }

  /** A batch was handed over (call after its events went on): answers what it answers. */
  answer(events: readonly NativeEvent[]): void {
    if (this.waiting.length === 0) return; // nearly always: no need to look at the events
    for (const event of events) if (event.kind === 'flushed') for (const resolve of this.waiting.splice(0, event.count)) resolve();
  }

  /** The socket closed after its last batch: nobody waits for more. */
  releaseAll(): void {
    this.closed = true;
    for (const resolve of this.waiting.splice(0)) resolve();
  }
}
