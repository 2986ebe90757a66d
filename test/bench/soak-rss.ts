/**
 * The accelerated soak of issue 7: `rtprobe soak` at a high rate against a loopback agent,
 * its resident memory read from /proc while its own /metrics counts the probes sent. RSS at
 * 10^6 and 10^7 probes should be equal: fixed histograms, a fixed ring, bounded series.
 */
import { readFileSync } from 'node:fs';
import { loopbackPath } from './bench-path.js';
import { CLI, REPO_ROOT, startAgent } from './rtprobe-runner.js';
import { startService } from './proc.js';

export interface SoakRssPoint {
  probes: number;
  rssBytes: number;
  elapsedS: number;
}

export interface SoakRssResult {
  rateHz: number;
  points: SoakRssPoint[];
  /** RSS at the last checkpoint minus RSS at the first */
  growthBytes: number;
}

/** The node process under the bench's wrappers (coreutils timeout, ip netns exec). */
function nodeProcess(pid: number): number {
  for (let current = pid, depth = 0; depth < 5; depth++) {
    if (readFileSync(`/proc/${current}/comm`, 'utf8').trim() === 'node') return current;
    const children = readFileSync(`/proc/${current}/task/${current}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    if (children.length === 0) break;
    current = Number(children[0]);
  }
  return pid;
}

function rssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : Number.NaN;
}

async function probesSent(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^rtprobe_probes_sent_total\{[^}]*\} (\d+)$/m.exec(text)?.[1] ?? Number.NaN);
}

export async function measureSoakRss(checkpoints: number[], rateHz: number): Promise<SoakRssResult> {
  const last = checkpoints[checkpoints.length - 1] ?? 0;
  const lifeS = Math.ceil((last / rateHz) * 1.5) + 120;
  const agent = await startAgent(loopbackPath(), 'kernel', lifeS);
  try {
    const soak = await startService(process.execPath, [CLI, 'soak', '--target', `a=127.0.0.1:${agent.port}`, '--rate', String(rateHz),
      '--interval', '10s', '--http', '127.0.0.1:0', '--quiet'],
    { timeoutS: lifeS, cwd: REPO_ROOT, ready: /dashboard (http:\/\/\S+)\//, readyTimeoutS: 30 });
    const url = soak.ready[1] ?? '';
    const soakPid = nodeProcess(soak.pid);
    const started = Date.now();
    const points: SoakRssPoint[] = [];
    try {
      for (const target of checkpoints) {
        let sent = 0;
        while (sent < target) {
          await new Promise((resolve) => setTimeout(resolve, 1000));
          sent = await probesSent(url);
          if ((Date.now() - started) / 1000 > lifeS) throw new Error(`soak reached only ${sent} probes in ${lifeS} s`);
        }
        points.push({ probes: sent, rssBytes: rssBytes(soakPid), elapsedS: (Date.now() - started) / 1000 });
      }
    } finally {
      await soak.stop();
    }
    const first = points[0]?.rssBytes ?? Number.NaN;
    return { rateHz, points, growthBytes: (points[points.length - 1]?.rssBytes ?? Number.NaN) - first };
  } finally {
    await agent.service.stop();
  }
}

export function renderSoakRss(r: SoakRssResult): string {
  const mib = (b: number): string => (b / 2 ** 20).toFixed(1);
  const rows = r.points.map((p) => `  ${String(p.probes).padStart(10)} probes after ${p.elapsedS.toFixed(0).padStart(5)} s: RSS ${mib(p.rssBytes)} MiB`);
  return [...rows, `  growth first → last checkpoint: ${mib(r.growthBytes)} MiB (soak at ${r.rateHz} Hz)`].join('\n');
}
