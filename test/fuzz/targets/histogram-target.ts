import type * as hdr from 'hdr-histogram-js';
import type { JsHistogram } from 'hdr-histogram-js';
import { decodeHistogram, encodeHistogram } from '../../../shared/histogram/histogram-transport.js';
import { HISTOGRAM_HIGHEST_NS, LatencyHistogram } from '../../../shared/histogram/latency-histogram.js';
import { describeBytes } from '../fuzz-tally.js';
import { CRASHED, firstFrame, type DecoderTarget, type InputRecorder } from '../fuzz-target.js';
import { histogramPayload } from '../histogram-inputs.js';
import { payloadCounts } from '../payload-counts.js';

type Histogram = ReturnType<typeof hdr.build>;

/** 'bounded-memory': decodeCompressedHistogram's own bound on a layout (2^22 buckets, 32 MiB). */
const MAX_BUCKETS = 1 << 22;

/** What the controller does with an accepted histogram (controller/agent-stream/agent-view.ts): merge it into a LatencyHistogram. */
function checkMerge(histogram: Histogram, record: InputRecorder): void {
  try {
    new LatencyHistogram().merge(histogram, histogram.maxValue);
  } catch (error) {
    const what = error instanceof Error ? `${error.message} ${firstFrame(error)}` : `threw ${typeof error} ${JSON.stringify(error)}`;
    record.violation('merges-into-latency-histogram', `${what} (maxValue ${histogram.maxValue})`);
  }
}

/** Free-text reasons grouped: numbers, hex and quoted parts replaced, so the table stays short. */
export function groupFreeReason(reason: string): string {
  return reason.replace(/0x[0-9a-f]+/gi, 'X').replace(/-?\d+(\.\d+)?(e[-+]?\d+)?/gi, 'N').replace(/'[^']*'/g, "'…'").slice(0, 70);
}

/**
 * decodeHistogram (shared/histogram/histogram-transport.ts), the controller's decoder of the
 * histograms in an agent's interval messages. An accepted histogram holds every count of the
 * payload, stays in range, merges into the rig's LatencyHistogram (what the controller does
 * with it) and encodes back to a payload that decodes to the same counts.
 */
export const histogramTarget: DecoderTarget<string> = {
  name: 'histogram',
  decoder: 'decodeHistogram',
  reasons: null,
  groupReason: groupFreeReason,
  generate: (rng) => histogramPayload(rng, 'transport'),
  describe: (input) => describeBytes(input),


  check(input, record) {
    const result = record.guard(() => decodeHistogram(input));
    if (result === CRASHED) return;
    if (!result.ok) return record.rejected(result.reason);
    record.accepted();
    const { histogram } = result;
    if (!(Number.isFinite(histogram.totalCount) && histogram.totalCount >= 0)) {
      record.violation('sane-histogram', `totalCount ${histogram.totalCount}`);
    }
    if (histogram.maxValue > HISTOGRAM_HIGHEST_NS * 2) record.violation('sane-histogram', `maxValue ${histogram.maxValue}`);
    const buckets = (histogram as JsHistogram).countsArrayLength;
    if (buckets > MAX_BUCKETS) record.violation('bounded-memory', `${buckets} buckets (${(buckets * 8 / 2 ** 20).toFixed(0)} MiB) from ${input.length} chars`);
    const counts = payloadCounts(input);
    if (counts !== null && counts.total !== histogram.totalCount) {
      record.violation('keeps-every-count', `payload holds ${counts.total} counts up to index ${counts.lastIndex}, `
        + `the histogram ${histogram.totalCount} in ${buckets} buckets`);
    }
    // A merge walks every bucket through hdr-histogram-js's value iterator (its mean): ~2 ms,
    // more than everything else here together, so one accepted input in 8 is merged.
    if (record.index % 8 === 0) checkMerge(histogram, record);
    const again = decodeHistogram(encodeHistogram(histogram));

    if (!again.ok || again.histogram.totalCount !== histogram.totalCount || again.histogram.maxValue !== histogram.maxValue) {
      record.violation('re-encodes', again.ok ? `total ${again.histogram.totalCount}, max ${again.histogram.maxValue}` : again.reason);
    }
  },
};
