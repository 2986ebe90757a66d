import type * as hdr from 'hdr-histogram-js';
import type { JsHistogram } from 'hdr-histogram-js';

type Histogram = ReturnType<typeof hdr.build>;
import { decodeHistogram, encodeHistogram } from '../../../shared/histogram/histogram-transport.js';
import { HISTOGRAM_HIGHEST_NS, LatencyHistogram } from '../../../shared/histogram/latency-histogram.js';
import { describeBytes } from '../fuzz-tally.js';
import { CRASHED, firstFrame, type DecoderTarget, type InputRecorder } from '../fuzz-target.js';
import { histogramDecodeSteps } from '../histogram-decode-steps.js';
import { histogramPayload } from '../histogram-inputs.js';
import { payloadCounts } from '../payload-counts.js';

const MAX_BUCKETS = 1 << 22;
/**
 * 'bounded-work': a decode walks at most 2^24 counts bytes and buckets: four times the layout
 * decodeHlogHistogram accepts at most (2^22 buckets), whatever numbers the payload holds.
 */
const MAX_DECODE_STEPS = 2 ** 24;
/** decode steps a millisecond, measured (for the estimate in the report): a 10^8-bucket zero run takes 0.3..0.5 s */
const STEPS_PER_MS = 2e5;

function formatSeconds(s: number): string {
  if (s < 3600) return `${s.toFixed(0)} s`;
  return s < 3.15e7 * 100 ? `${(s / 3600).toFixed(0)} h` : `${(s / 3.15e7).toExponential(1)} years`;
}

/** What the controller does with an accepted histogram (controller/agent-view.ts): merge it into a LatencyHistogram. */
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
  hazard(input) {
    const steps = histogramDecodeSteps(input);
    if (steps === null || steps <= MAX_DECODE_STEPS) return null;
    return `the payload makes hdr-histogram-js walk ${steps.toExponential(2)} counts bytes and buckets (~${formatSeconds(steps / STEPS_PER_MS / 1000)})`;
  },

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
    // decodeHlogHistogram refuses layouts above 2^22 buckets (32 MiB); the same bound for this decoder.
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
