import { totalViolations, type TallyData } from './fuzz-tally.js';
import { knownFinding } from './known-findings.js';

/** The amplification of a target: bytes out / bytes in over the whole run; null when nothing came in. */
export function amplification(tally: TallyData): number | null {
  return tally.bytesIn > 0 ? tally.bytesOut / tally.bytesIn : null;
}

function counts(record: Record<string, number>): string {
  const entries = Object.entries(record).sort((a, b) => b[1] - a[1]);
  return entries.length === 0 ? '-' : entries.map(([key, n]) => `${key} ${n}`).join(', ');
}

function pad(text: string, width: number, right = false): string {
  return right ? text.padStart(width) : text.padEnd(width);
}

/**
 * The report table (pure): one row per target with inputs, accepted, crashes, hangs, invariant
 * violations, amplification, slowest input and time; under it the counts per reason and per
 * accepted kind. Then every broken invariant with its first inputs, the seed to replay them.
 */
export function formatFuzzTable(tallies: readonly TallyData[], seed: number): string {
  const head = ['target', 'inputs', 'accepted', 'crashes', 'hangs', 'violations', 'bytes out/in', 'slowest', 'time'];
  const widths = [16, 10, 10, 8, 6, 11, 13, 10, 8];
  const lines = [head.map((h, i) => pad(h, widths[i] ?? 8, i > 0)).join(' ')];
  for (const t of tallies) {
    const ratio = amplification(t);
    const row = [t.target, String(t.inputs), String(t.accepted), String(t.crashes), String(t.hangs), String(totalViolations(t)),
      ratio === null ? '-' : ratio.toFixed(4), `${t.slowestMs.toFixed(1)} ms`, `${(t.elapsedMs / 1000).toFixed(1)} s`];
    lines.push(row.map((cell, i) => pad(cell, widths[i] ?? 8, i > 0)).join(' '));
    lines.push(`    rejected: ${counts(t.reasons)}`);
    if (Object.keys(t.acceptedAs).length > 0) lines.push(`    accepted as: ${counts(t.acceptedAs)}`);
  }
  const broken = tallies.filter((t) => totalViolations(t) > 0);
  if (broken.length === 0) {
    lines.push('', `every invariant held (seed ${seed})`);
    return lines.join('\n');
  }
  lines.push('', `INVARIANTS BROKEN (seed ${seed}; replay: npm run fuzz -- --seed ${seed} --only TARGET:INDEX)`);
  for (const t of broken) {
    for (const [invariant, n] of Object.entries(t.violations).sort((a, b) => b[1] - a[1])) {
      const known = knownFinding(t.target, invariant);
      lines.push(`  ${t.target}: ${invariant}: ${n} input${n === 1 ? '' : 's'}${known ? ` [known: ${known.source}]` : ''}`);
      for (const s of t.samples.filter((sample) => sample.invariant === invariant)) {
        lines.push(`    #${s.index}: ${s.detail}${s.note ? ` [${s.note}]` : ''}`);
        if (s.text !== undefined) lines.push(`      text ${s.text}`);
        lines.push(`      hex  ${s.hex}`);
      }
    }
  }
  return lines.join('\n');
}
