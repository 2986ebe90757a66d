/**
 * Start-up of the two ways to run rtprobe (issue "self-contained rtprobe"): the checkout's
 * TypeScript through tsx (shared/cli/rtprobe.js) and the bundle of `npm run build`. Times to
 * `--help` exiting and to the agent's `listening` line, alternating source and bundle, median
 * of N each.
 */
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { formatTable } from './format-table.js';
import { REPO_ROOT } from './rtprobe-runner.js';

export interface StartupRow { what: string; sourceMs: number; bundleMs: number }
export interface StartupResult { runs: number; rows: StartupRow[] }

const TIMEOUT_MS = 20_000;

/** ms from spawn until `done` says so (stdout so far) or the process exits; the process is then ended. */
function timeUntil(argv: string[], done: ((stdout: string) => boolean) | null): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, argv, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, stdio: ['ignore', 'pipe', 'ignore'] });
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

/** Builds the bundle into `dir` and times both paths, alternating. */
export async function measureStartup(dir: string, runs = 5): Promise<StartupResult> {
  const bundleDir = join(dir, 'rtprobe');
  execFileSync(process.execPath, [join(REPO_ROOT, 'shared/cli/build-bundle.js'), '--out', bundleDir, '--no-tarball'], { stdio: 'ignore' });
  const launchers = { source: join(REPO_ROOT, 'shared/cli/rtprobe.js'), bundle: join(bundleDir, 'rtprobe') };
  const cases: { what: string; args: string[]; done: ((stdout: string) => boolean) | null }[] = [
    { what: 'rtprobe --help (to exit)', args: ['--help'], done: null },
    { what: "rtprobe agent (to its 'listening' line)", args: ['agent', '--listen', '127.0.0.1:0'], done: (out) => out.includes('listening udp') },
  ];
  const rows: StartupRow[] = [];
  for (const c of cases) {
    const times = { source: [] as number[], bundle: [] as number[] };
    for (let i = 0; i < runs; i++) {
      for (const which of i % 2 === 0 ? (['source', 'bundle'] as const) : (['bundle', 'source'] as const)) {
        times[which].push(await timeUntil([launchers[which], ...c.args], c.done));
      }
    }
    rows.push({ what: c.what, sourceMs: median(times.source), bundleMs: median(times.bundle) });
  }
  return { runs, rows };
}

export function renderStartup(result: StartupResult): string {
  return formatTable(['start-up, median of ' + result.runs, 'source (tsx) ms', 'bundle ms', 'bundle/source'],
    result.rows.map((r) => [r.what, r.sourceMs.toFixed(0), r.bundleMs.toFixed(0), (r.bundleMs / r.sourceMs).toFixed(2)]));
}
