import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { loadNativeAddon, setNativeAddonSource, type LoadNativeAddonResult } from '../../shared/native/native-addon.js';

/** One packed batch as the addon hands it to its callback, before the loader decodes it. */
export interface RawBatch { mode: unknown; records: ArrayBuffer; count: number; strings: string[]; data: Buffer }

type RawCallback = (records: ArrayBuffer, count: number, strings: string[], data: Buffer, ...rest: unknown[]) => void;
type RawProbeSocket = new (options: unknown, onEvents: RawCallback) => object;

const ADDON_FILE = fileURLToPath(new URL('../../shared/native/build/Release/rtprobe_native.node', import.meta.url));

/**
 * Loads the real addon (the checkout's build) through the loader, with a pass-through on each
 * ProbeSocket's raw callback that hands `onBatch` every batch on its way, `mode` from the
 * socket's options ('controller' or 'reflector'). For tests of how batches cross to JS.
 */
export function loadAddonNotingRawBatches(onBatch: (batch: RawBatch) => void): LoadNativeAddonResult {
  setNativeAddonSource({
    where: ADDON_FILE,
    hint: 'run `npm ci`',
    load: () => {
      const raw = createRequire(import.meta.url)(ADDON_FILE) as Record<string, unknown>;
      const Socket = raw.ProbeSocket as RawProbeSocket;
      function ProbeSocket(options: unknown, onEvents: RawCallback): object {
        const { mode } = options as { mode?: unknown };
        return new Socket(options, (records, count, strings, data, ...rest) => {
          onBatch({ mode, records, count, strings, data });
          onEvents(records, count, strings, data, ...rest);
        });
      }
      return { ...raw, ProbeSocket };
    },
  });
  return loadNativeAddon();
}
