/**
 * Start-up of the ways to run rtprobe (issue "self-contained rtprobe"): the checkout's
 * TypeScript through tsx (RTPROBE_FROM_SOURCE=1), the checkout's launcher (shared/cli/rtprobe.js,
 * its cached bundle), the bundle of `npm run build`, and the
 * single-file agent (build-sea.js; — where this machine cannot make one). Times to `--help`
 * exiting and to the agent's `listening` line, in rotating order, median of N each.
 */
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { formatTable } from './format-table.js';
import { REPO_ROOT } from './rtprobe-runner.js';

export interface StartupRow { what: string; sourceMs: number; checkoutMs: number; bundleMs: number; singleFileMs: number | null }
export interface StartupResult { runs: number; rows: StartupRow[] }

const TIMEOUT_MS = 20_000;

/** ms from spawn until `done` says so (stdout so far) or the process exits; the process is then ended. */
function timeUntil(argv: string[], done: ((stdout: string) => boolean) | null, env: NodeJS.ProcessEnv = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const [command = '', ...args] = argv;
    const child = spawn(command, args, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, stdio: ['ignore', 'pipe', 'ignore'] });
    let stdout = '';
    let elapsed: number | null = null;
    const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (elapsed === null && done?.(stdout)) {
        elapsed = performance.now() - t0;
        child.kill('SIGTERM');
      }
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (done === null && code === 0) resolve(performance.now() - t0);
      else if (elapsed !== null) resolve(elapsed);
      else reject(new Error(`${argv.join(' ')}: exited ${code} before it was ready`));
    });
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** The single-file agent (build-sea.js) in `dir`, or null when this machine cannot make one. */
function buildSingleFile(dir: string): string | null {
  const out = join(dir, 'rtprobe-agent');
  try {
    execFileSync(process.execPath, [join(REPO_ROOT, 'shared/cli/build-sea.js'), '--out', out], { stdio: 'ignore' });
    return out;
  } catch {
    return null;
  }
}

/** Builds the bundle (and the single-file agent) into `dir` and times each path, alternating. */
export async function measureStartup(dir: string, runs = 5): Promise<StartupResult> {
  const bundleDir = join(dir, 'rtprobe');
  execFileSync(process.execPath, [join(REPO_ROOT, 'shared/cli/build-bundle.js'), '--out', bundleDir, '--no-tarball'], { stdio: 'ignore' });
  const singleFile = buildSingleFile(dir);
  const checkoutCli = join(REPO_ROOT, 'shared/cli/rtprobe.js');
  execFileSync(process.execPath, [checkoutCli, '--version'], { stdio: 'ignore' }); // its cached bundle, built now if stale
  const launchers: Record<'source' | 'checkout' | 'bundle' | 'singleFile', string[] | null> = {
    // the checkout's TypeScript through tsx, and the checkout's launcher (its cached bundle)
    source: [process.execPath, checkoutCli],
    checkout: [process.execPath, checkoutCli],
    bundle: [process.execPath, join(bundleDir, 'rtprobe')],
    // the agent alone: `rtprobe-agent --help` is the agent's help
    singleFile: singleFile === null ? null : [singleFile],
  };
  const cases: { what: string; args: string[]; done: ((stdout: string) => boolean) | null }[] = [
    { what: 'rtprobe --help (to exit)', args: ['--help'], done: null },
    { what: "rtprobe agent (to its 'listening' line)", args: ['agent', '--listen', '127.0.0.1:0'], done: (out) => out.includes('listening udp') },
  ];
  const rows: StartupRow[] = [];
  for (const c of cases) {
    const times = { source: [] as number[], checkout: [] as number[], bundle: [] as number[], singleFile: [] as number[] };
    const order = ['source', 'checkout', 'bundle', 'singleFile'] as const;
    for (let i = 0; i < runs; i++) {
      // rotate who goes first, so no path always starts on a cold or a warm machine
      for (const which of [...order.slice(i % order.length), ...order.slice(0, i % order.length)]) {
        const launcher = launchers[which];
        if (launcher === null) continue;
        const args = which === 'singleFile' ? c.args.filter((a) => a !== 'agent') : c.args;
        times[which].push(await timeUntil([...launcher, ...args], c.done, which === 'source' ? { RTPROBE_FROM_SOURCE: '1' } : {}));
      }
    }
    rows.push({
      what: c.what, sourceMs: median(times.source), checkoutMs: median(times.checkout), bundleMs: median(times.bundle),
      singleFileMs: times.singleFile.length > 0 ? median(times.singleFile) : null,
    });
  }
  return { runs, rows };
}

export function renderStartup(result: StartupResult): string {
  return formatTable(['start-up, median of ' + result.runs, 'source (tsx) ms', 'checkout (cached bundle) ms', 'bundle ms', 'bundle/source', 'single-file agent ms'],
    result.rows.map((r) => [r.what, r.sourceMs.toFixed(0), r.checkoutMs.toFixed(0), r.bundleMs.toFixed(0), (r.bundleMs / r.sourceMs).toFixed(2),
      r.singleFileMs === null ? '—' : r.singleFileMs.toFixed(0)]));
}
