/** Flags of `npm run bench -- [flags]`. */

export interface BenchArgs {
  seconds: number;
  rounds: number;
  quick: boolean;
  /** qemu: the observer-effect row against a real guest (lab up --qemu), no peer table */
  paths: ('loopback' | 'veth' | 'qemu')[];
  capacity: boolean;
  /** inputs per decoder of the fuzz line; 0 = no fuzz line */
  fuzzCount: number;
  /** keep the per-run output files (irtt JSON, sockperf CSV, rtprobe JSON) */
  keep: boolean;
}

export const USAGE = `Usage: npm run bench -- [--seconds 20] [--rounds 3] [--quick] [--paths loopback,veth,qemu]
                        [--no-capacity] [--fuzz-count N] [--keep]
  --quick        1 round × 5 s, short capacity steps, RSS at 10^4 vs 10^5 probes, many targets
                 3 s a step, one observer pair of 5 s (smoke check)
  --paths        which paths to measure (veth needs root: two namespaces the bench creates;
                 the observer-effect row, rtprobe vs fping under load, runs on them too; qemu
                 boots a real guest with rtprobe lab up --qemu for the same row against its
                 e1000, with the CPUs free and with everything on one CPU, then takes it down)
  --no-capacity  skip the rate ladder / CPU / RSS and the 1 / 100 / 1000-target measurements on loopback
  --fuzz-count N inputs per decoder of the fuzz line (default 1000000, --quick 20000; 0: none)
  --keep         keep the raw output files of every run (their folder is printed)`;

export function parseArgs(argv: readonly string[]): BenchArgs {
  const a: BenchArgs = { seconds: 20, rounds: 3, quick: false, paths: ['loopback', 'veth', 'qemu'], capacity: true, fuzzCount: 1_000_000, keep: false };
  let fuzzCount: number | undefined;
  let seconds: number | undefined;
  let rounds: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    const positive = (v: string): number => {
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag}: not a positive number: ${v}`);
      return n;
    };
    switch (flag) {
      case '--seconds':
        seconds = positive(value());
        break;
      case '--rounds':
        rounds = Math.round(positive(value()));
        break;
      case '--quick':
        a.quick = true;
        break;
      case '--paths': {
        const ps = value().split(',');
        for (const p of ps) if (p !== 'loopback' && p !== 'veth' && p !== 'qemu') throw new Error(`--paths: unknown path ${p}`);
        a.paths = ps as BenchArgs['paths'];
        break;
      }
      case '--no-capacity':
        a.capacity = false;
        break;
      case '--fuzz-count': {
        const v = value();
        fuzzCount = Number(v);
        if (!Number.isInteger(fuzzCount) || fuzzCount < 0) throw new Error(`--fuzz-count: not an integer >= 0: ${v}`);
        break;
      }
      case '--keep':
        a.keep = true;
        break;
      default:
        throw new Error(`unknown flag ${flag}`);
    }
  }
  if (a.quick) {
    a.seconds = 5;
    a.rounds = 1;
    a.fuzzCount = 20_000;
  }
  if (fuzzCount !== undefined) a.fuzzCount = fuzzCount;
  // explicit values win over --quick
  if (seconds !== undefined) a.seconds = seconds;
  if (rounds !== undefined) a.rounds = rounds;
  return a;
}
