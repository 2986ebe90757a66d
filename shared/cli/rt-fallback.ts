import type { NativeSocketCommonOptions } from '../native/native-addon.js';

/**
 * Socket options the kernel refuses for want of a privilege (EPERM) and that the socket can
 * do without, like SCHED_FIFO or mlock: SO_PRIORITY above 6 and SO_BUSY_POLL above
 * net.core.busy_read need CAP_NET_ADMIN. The native addon fails the whole socket on them.
 */
const DOWNGRADABLE: [keyof NativeSocketCommonOptions, RegExp][] = [
  ['priority', /SO_PRIORITY failed: EPERM/],
  ['busyPollUs', /SO_BUSY_POLL failed: EPERM/],
];

/**
 * Opens a native socket; when it fails on one of those options, opens it again without that
 * option and returns the failure as a warning — handled like the other RT options (a warning,
 * or exit 2 with --require-rt, which the caller decides from the warnings).
 */
export async function openWithRtFallback<T>(options: NativeSocketCommonOptions,
  open: (options: NativeSocketCommonOptions) => Promise<T>): Promise<{ value: T; warnings: string[] }> {
  const current: NativeSocketCommonOptions = { ...options };
  const warnings: string[] = [];
  for (;;) {
    try {
      return { value: await open(current), warnings };
    } catch (error) {
      const message = (error as Error).message;
      const refused = DOWNGRADABLE.find(([key, pattern]) => current[key] !== undefined && pattern.test(message));
      if (!refused) throw error;
      warnings.push(`${message}; the socket runs without it`);
      delete current[refused[0]];
    }
  }
}
