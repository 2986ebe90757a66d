import { HLOG_MALFORMED_REASONS, parseHlogLine } from '../../../controller/hlog/hlog-line.js';
import { parseHlogText } from '../../../controller/hlog/hlog-parser.js';
import { describeBytes } from '../fuzz-tally.js';
import { CRASHED, type DecoderTarget } from '../fuzz-target.js';
import { hlogText } from '../hlog-inputs.js';

/**
 * A short log through HlogParser (parseHlogText, no filter): every line is counted once, as an
 * interval, a counts line, a malformed line of one reason, or a line of another kind (headers,
 * gaps, comments, blanks) — the kinds told apart by parseHlogLine on its own.
 */
export const hlogFileTarget: DecoderTarget<string> = {
  name: 'hlog-file',
  decoder: 'HlogParser',
  reasons: HLOG_MALFORMED_REASONS,
  generate: hlogText,
  describe: (input) => describeBytes(input),
  check(input, record) {
    const result = record.guard(() => parseHlogText(input));
    if (result === CRASHED) return;
    const { summary } = result;
    const lines = input.split('\n');
    const torn = (lines.pop() ?? '') !== '';
    let others = 0;
    for (const line of lines) {
      const kind = parseHlogLine(line).kind;
      if (kind !== 'interval' && kind !== 'counts' && kind !== 'malformed') others++;
    }
    const malformed = Object.values(summary.malformed).reduce((sum, n) => sum + n, 0);
    const counted = summary.intervals + summary.counts + summary.outOfRange + summary.otherTag + malformed + others;
    const expected = lines.length + (torn ? 1 : 0);
    if (counted !== expected || summary.lines !== expected) {
      record.violation('every-line-counted-once', `${expected} lines, counted ${counted} (summary.lines ${summary.lines})`);
    }
    if (malformed === 0) {
      record.accepted('clean');
      return;
    }
    // The file's outcome: the first malformed reason in the list (each line is in the summary once).
    const first = HLOG_MALFORMED_REASONS.find((reason) => summary.malformed[reason] > 0);
    record.rejected(first);
  },
};
