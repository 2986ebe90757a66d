import { parseArgs } from 'node:util';

export interface FuzzArgs {
  /** inputs per decoder */
  count: number;
  seed: number;
  /** datagrams per live agent (0: no live UDP) */
  liveCount: number;
  /** WebSocket messages to the live agent (0: no live WebSocket) */
  wsCount: number;
  /** decoder target names; null = all */
  targets: string[] | null;
  /** replay one input: TARGET:INDEX */
  only: { target: string; index: number } | null;
  hangMs: number;
  slowMs: number;
  /** datagrams a second to the live agent */
  rate: number;
  parallel: number | null;
  /** write the tallies as JSON here */
  json: string | null;
}

export const FUZZ_USAGE = `Usage: npm run fuzz -- [options]
  --count N         inputs per decoder (default 1000000)
  --seed N          32-bit seed (default: random, printed); the same seed gives the same inputs
  --live-count N    datagrams to each live agent, the dgram and the native reflector (default 20000; 0: none)
  --ws-count N      WebSocket messages to the live agent (default 2000; 0: none)
  --rate N          datagrams a second on loopback (default 2000)
  --targets A,B     only these decoders (default: all)
  --only T:I        replay input I of decoder T and show it, its outcome and its checks
  --hang-ms N       one input running longer is a hang (default 10000)
  --slow-ms N       one decoder call taking longer breaks bounded-time (default 250)
  --parallel N      worker threads (default: CPUs)
  --json FILE       also write the tallies as JSON
Exit status: 0 every invariant held, 1 an invariant broken, 2 bad arguments.`;

function integer(name: string, text: string | undefined, fallback: number, min: number, max: number): number | Error {
  if (text === undefined) return fallback;
  const value = Number(text.replace(/_/g, ''));
  if (!Number.isInteger(value) || value < min || value > max) return new Error(`--${name}: '${text}' is not an integer in ${min}..${max}`);
  return value;
}

/** Parses the fuzz CLI's arguments; an Error for bad ones. */
export function parseFuzzArgs(argv: string[], randomSeed: number): FuzzArgs | Error | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv, allowPositionals: false, strict: true,
      options: {
        count: { type: 'string' }, seed: { type: 'string' }, 'live-count': { type: 'string' }, 'ws-count': { type: 'string' },
        rate: { type: 'string' }, targets: { type: 'string' }, only: { type: 'string' }, 'hang-ms': { type: 'string' },
        'slow-ms': { type: 'string' }, parallel: { type: 'string' }, json: { type: 'string' }, help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    return error as Error;
  }
  const v = parsed.values;
  if (v.help) return 'help';
  const count = integer('count', v.count, 1_000_000, 0, 2 ** 31 - 2);
  const seed = integer('seed', v.seed, randomSeed, 0, 2 ** 32 - 1);
  const liveCount = integer('live-count', v['live-count'], 20_000, 0, 10_000_000);
  const wsCount = integer('ws-count', v['ws-count'], 2_000, 0, 10_000_000);
  const rate = integer('rate', v.rate, 2_000, 1, 100_000);
  const hangMs = integer('hang-ms', v['hang-ms'], 10_000, 100, 3_600_000);
  const slowMs = integer('slow-ms', v['slow-ms'], 250, 1, 3_600_000);
  const parallel = v.parallel === undefined ? null : integer('parallel', v.parallel, 1, 1, 256);
  for (const value of [count, seed, liveCount, wsCount, rate, hangMs, slowMs, parallel]) if (value instanceof Error) return value;
  let only: FuzzArgs['only'] = null;
  if (v.only !== undefined) {
    const match = /^([\w-]+):(\d+)$/.exec(v.only);
    if (!match) return new Error(`--only: '${v.only}' is not TARGET:INDEX`);
    only = { target: match[1] ?? '', index: Number(match[2]) };
  }
  return {
    count: count as number, seed: seed as number, liveCount: liveCount as number, wsCount: wsCount as number,
    rate: rate as number, hangMs: hangMs as number, slowMs: slowMs as number, parallel: parallel as number | null,
    targets: v.targets === undefined ? null : v.targets.split(',').map((s) => s.trim()).filter(Boolean), only, json: v.json ?? null,
  };
}
