import type { JsHistogram } from 'hdr-histogram-js';
import { formatHlogCountsLine, parseHlogCountsLine, validateHlogCounts } from '../../../controller/hlog/hlog-counts.js';
import { decodeCompressedHistogram, encodeCompressedHistogram } from '../../../shared/histogram/histogram-codec.js';
import { validateHlogTag } from '../../../controller/hlog/hlog-format.js';
import { HLOG_MALFORMED_REASONS, parseHlogLine, type HlogLine } from '../../../controller/hlog/hlog-line.js';
import { describeBytes } from '../fuzz-tally.js';
import { CRASHED, type DecoderTarget, type InputRecorder } from '../fuzz-target.js';
import { hlogLine } from '../hlog-inputs.js';
import { payloadCounts } from '../payload-counts.js';

/** decodeCompressedHistogram's own bound on a layout (histogram-codec.ts MAX_COUNTS_LENGTH) */
const MAX_BUCKETS = 1 << 22;

function sameCounts(a: JsHistogram, b: JsHistogram): boolean {
  if (a.totalCount !== b.totalCount) return false;
  const n = Math.max(a.countsArrayLength, b.countsArrayLength);
  for (let i = 0; i < n; i++) if ((a.getCountAtIndex(i) || 0) !== (b.getCountAtIndex(i) || 0)) return false;
  return true;
}

/** An interval line's payload, decoded as HlogParser does it: a histogram, or 'bad-payload'. */
function checkInterval(line: Extract<HlogLine, { kind: 'interval' }>, record: InputRecorder): void {
  if (line.tag !== '' && validateHlogTag(line.tag) !== null) record.violation('valid-fields', `tag '${line.tag}'`);
  if (!Number.isFinite(line.startS) || !(line.lengthS >= 0) || !(line.maxMs >= 0) || !Number.isFinite(line.lengthS + line.maxMs)) {
    record.violation('valid-fields', `start ${line.startS}, length ${line.lengthS}, max ${line.maxMs}`);
  }
  if (line.payload === '' || line.payload.includes(',')) record.violation('valid-fields', 'payload empty or with a comma');
  const decoded = record.guard(() => decodeCompressedHistogram(line.payload));
  if (decoded === CRASHED) return;
  if (!decoded.ok) {
    record.rejected('bad-payload');
    if (typeof decoded.reason !== 'string' || decoded.reason === '') record.violation('one-listed-reason', 'a payload failure without a reason');
    return;
  }
  record.accepted('interval');
  const { histogram } = decoded;
  if (histogram.countsArrayLength > MAX_BUCKETS) record.violation('bounded-memory', `${histogram.countsArrayLength} buckets`);
  const counts = payloadCounts(line.payload);
  if (counts !== null && counts.total !== histogram.totalCount) {
    record.violation('keeps-every-count', `payload holds ${counts.total} counts up to index ${counts.lastIndex}, `
      + `the histogram ${histogram.totalCount} in ${histogram.countsArrayLength} buckets`);
  }
  const encoded = encodeCompressedHistogram(histogram);
  const again = typeof encoded === 'string' ? decodeCompressedHistogram(encoded) : null;
  if (again === null || !again.ok || !sameCounts(again.histogram, histogram)) {
    record.violation('re-encodes', encoded instanceof Error ? encoded.message : again?.ok === false ? again.reason : 'other counts');
  }
}

/**
 * One line of an interval log through parseHlogLine (controller/hlog/hlog-line.ts) and, for an
 * interval line, its payload through decodeCompressedHistogram, as HlogParser reads a file. Every
 * line is one kind or one malformed reason; accepted lines hold what their kind promises.
 */
export const hlogLineTarget: DecoderTarget<string> = {
  name: 'hlog-line',
  decoder: 'parseHlogLine+decodeCompressedHistogram',
  reasons: HLOG_MALFORMED_REASONS,
  generate: hlogLine,
  describe: (input) => describeBytes(input),
  check(input, record) {
    const line = record.guard(() => parseHlogLine(input));
    if (line === CRASHED) return;
    switch (line.kind) {
      case 'malformed':
        record.rejected(line.reason);
        return;
      case 'interval':
        checkInterval(line, record);
        return;
      case 'start-time':
      case 'base-time':
        if (!Number.isFinite(line.epochMs) || line.epochMs < 0) record.violation('valid-fields', `${line.kind} ${line.epochMs}`);
        break;
      case 'gap':
        if (!Number.isFinite(line.fromMs) || !Number.isFinite(line.toMs)) record.violation('valid-fields', `gap ${line.fromMs}..${line.toMs}`);
        break;
      case 'counts': {
        const invalid = validateHlogCounts(line.counts);
        if (invalid !== null) record.violation('valid-fields', `counts: ${invalid.message}`);
        const again = invalid === null ? parseHlogCountsLine(formatHlogCountsLine(line.counts).trimEnd()) : null;
        if (again !== null && JSON.stringify(again) !== JSON.stringify(line.counts)) {
          record.violation('round-trips', `counts read back as ${JSON.stringify(again)}`);
        }
        break;
      }
      default:
        break;
    }
    record.accepted(line.kind);
  },
};
