/**
 * npm run fuzz -- [--count 1000000] [--seed N] [--live-count 20000] …
 * Decoders first (worker threads), then the live agent on 127.0.0.1; one table for both.
 * Exit 1 when an invariant broke (the table names it, with the seed and the input's hex).
 */
import { randomInt } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { fuzzDecoders } from './fuzz-decoders.js';
import { FUZZ_USAGE, parseFuzzArgs } from './fuzz-args.js';
import { totalViolations, type TallyData } from './fuzz-tally.js';
import { formatFuzzTable } from './format-fuzz-table.js';
import { fuzzLive } from './fuzz-live.js';
import { replayInput } from './replay-input.js';

async function main(argv: string[]): Promise<number> {
  const args = parseFuzzArgs(argv, randomInt(0, 2 ** 32 - 1));
  if (args === 'help') {
    process.stdout.write(`${FUZZ_USAGE}\n`);
    return 0;
  }
  if (args instanceof Error) {
    process.stderr.write(`fuzz: ${args.message}\n${FUZZ_USAGE}\n`);
    return 2;
  }
  if (args.only !== null) {
    const text = replayInput(args.only.target, args.seed, args.only.index, args.slowMs);
    if (text instanceof Error) {
      process.stderr.write(`fuzz: ${text.message}\n`);
      return 2;
    }
    process.stdout.write(`${text}\n`);
    return text.includes('\nBROKEN ') ? 1 : 0;
  }
  process.stdout.write(`fuzz: seed ${args.seed}, ${args.count} inputs per decoder, ${args.liveCount} datagrams per live agent, `
    + `${args.wsCount} WebSocket messages\n`);
  const startMs = performance.now();
  const tallies: TallyData[] = await fuzzDecoders({
    seed: args.seed, count: args.count, hangMs: args.hangMs, slowMs: args.slowMs,
    ...(args.targets === null ? {} : { targets: args.targets }), ...(args.parallel === null ? {} : { parallel: args.parallel }),
    onTargetDone: (t) => process.stdout.write(`  ${t.target}: ${t.inputs} inputs in ${(t.elapsedMs / 1000).toFixed(1)} s\n`),
  });
  if (args.liveCount > 0 || args.wsCount > 0) {
    tallies.push(...await fuzzLive({
      seed: args.seed, datagrams: args.liveCount, wsMessages: args.wsCount, rate: args.rate,
      onTargetDone: (t) => process.stdout.write(`  ${t.target}: ${t.inputs} inputs in ${(t.elapsedMs / 1000).toFixed(1)} s\n`),
    }));
  }
  process.stdout.write(`\n${formatFuzzTable(tallies, args.seed)}\n`);
  process.stdout.write(`total ${((performance.now() - startMs) / 1000).toFixed(1)} s\n`);
  if (args.json !== null) writeFileSync(args.json, `${JSON.stringify({ seed: args.seed, tallies }, null, 2)}\n`);
  return tallies.some((t) => totalViolations(t) > 0) ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
