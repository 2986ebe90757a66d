import { formatHlogCountsLine } from '../../controller/hlog/hlog-counts.js';
import { HLOG_LEGEND_LINE, formatHlogGapLine, formatHlogHeader, formatHlogIntervalLine } from '../../controller/hlog/hlog-format.js';
import { histogramPayload } from './histogram-inputs.js';
import { mutateText } from './json-mutations.js';
import type { Prng } from '../helpers/prng.js';

/** Number texts at the edges of the line grammar: non-finite, signed zero, bare dots, other digits. */
const WEIRD_NUMBERS = ['NaN', '1e400', '-1e400', '-0', '.5', '5.', '+1', '0x10', '', ' 1', '1 ', '١', 'Infinity', '-1', '1e-400',
  '9'.repeat(400), '1,5', '0.000', '1e21', '-0.001'] as const;
const WEIRD_TAGS = ['', 'a b', 'a=b', 'x'.repeat(64), 'x'.repeat(65), 'é', 'rtt\t', 'Tag=rtt', '\u0000'] as const;
const START_MS = 1_700_000_000_123;

/** A line as our writer (or Java's) writes it: header lines, intervals, gaps, counts, comments. */
export function validHlogLine(rng: Prng): string {
  const startMs = START_MS + rng.int(86_400_000);
  switch (rng.int(8)) {
    case 0: return rng.pick(formatHlogHeader(startMs, startMs).split('\n').filter(Boolean));
    case 1: return formatHlogGapLine(startMs, startMs + rng.int(3_600_000), rng.chance(0.5) ? 'restart' : '').trimEnd();
    case 2: {
      const alerts = rng.chance(0.5) ? [] : rng.chance(0.5) ? ['max-rtt'] : ['max-rtt', 'loss'];
      return formatHlogCountsLine({ startMs, lengthMs: 10_000, sent: rng.int(1e6), received: rng.int(1e6), lost: rng.int(100), late: rng.int(10), alerts }).trimEnd();
    }
    case 3: return rng.pick([HLOG_LEGEND_LINE, '', '#a comment', '#[Gap: from 1 to', '#']);
    default: {
      const line = formatHlogIntervalLine({
        tag: rng.pick(['rtt', 'owd', 'turnaround', 'a-b_c.1']), startMs, lengthMs: rng.pick([1000, 10_000]),
        maxNs: rng.chance(0.1) ? 0 : rng.int(60e9), payload: histogramPayload(rng, 'hlog'),
      }, START_MS).trimEnd();
      // Java's writer leaves the tag out when there is none.
      return rng.chance(0.15) ? line.slice(line.indexOf(',') + 1) : line;
    }
  }
}

/** One field of a comma-separated line replaced, dropped, doubled, or the tag made odd. */
function mutateFields(rng: Prng, line: string): string {
  const fields = line.split(',');
  const at = rng.int(fields.length);
  switch (rng.int(4)) {
    case 0: fields[at] = rng.pick(WEIRD_NUMBERS); break;
    case 1: fields.splice(at, 1); break;
    case 2: fields.splice(at, 0, fields[at] ?? ''); break;
    default: fields[0] = `Tag=${rng.pick(WEIRD_TAGS)}`; break;
  }
  return fields.join(',');
}

/** A number inside a header, gap or counts line replaced by an odd one. */
function mutateHeaderNumber(rng: Prng, line: string): string {
  const numbers = [...line.matchAll(/\d+(\.\d+)?/g)];
  const match = numbers.length > 0 ? rng.pick(numbers) : undefined;
  if (match?.index === undefined) return line;
  return line.slice(0, match.index) + rng.pick(WEIRD_NUMBERS) + line.slice(match.index + match[0].length);
}

/**
 * One line of an interval log (no newline inside): valid lines of every kind, their fields and
 * numbers made odd, their text mutated, Windows line ends, random text.
 */
export function hlogLine(rng: Prng): string {
  const kind = rng.int(100);
  let line: string;
  if (kind < 5) line = rng.bytes(rng.range(0, 120)).toString('latin1');
  else if (kind < 25) line = validHlogLine(rng);
  else if (kind < 50) line = mutateFields(rng, validHlogLine(rng));
  else if (kind < 70) line = mutateHeaderNumber(rng, validHlogLine(rng));
  else line = mutateText(rng, validHlogLine(rng));
  if (rng.chance(0.05)) line += '\r';
  return line.replace(/\n/g, ' ');
}

/** A short log: 1..12 lines, each newline-terminated, and now and then a torn last line. */
export function hlogText(rng: Prng): string {
  const lines = Array.from({ length: rng.range(1, 12) }, () => hlogLine(rng));
  return `${lines.join('\n')}\n${rng.chance(0.2) ? hlogLine(rng) : ''}`;
}
